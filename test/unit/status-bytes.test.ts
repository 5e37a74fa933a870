// Status bodies byte for byte as kube-apiserver writes them: field order kind, apiVersion,
// metadata, status, message, reason, details, code, and the JSON encoder's trailing newline.
import { describe, expect, it } from 'vitest';
import { ApiError, invalid, notFound, field } from '../../controlplane/api/errors.js';

describe('Status encoding', () => {
  it('a NotFound as kube-apiserver 1.32 sends it', () => {
    expect(notFound('pods', 'x').body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n',
    );
  });

  it('an Invalid with causes', () => {
    expect(invalid('Pod', 'p', [field.required('spec.containers')]).body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \\"p\\" is invalid: spec.containers: Required value","reason":"Invalid","details":{"name":"p","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers"}]},"code":422}\n',
    );
  });

  it('without details, code follows reason', () => {
    expect(new ApiError(401, 'Unauthorized', 'Unauthorized').body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    );
  });
});
