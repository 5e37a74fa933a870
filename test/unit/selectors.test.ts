import { describe, expect, it } from 'vitest';
import {
  parseLabelSelector,
  matchLabels,
  labelSelectorFromObject,
  formatLabelSelector,
  parseFieldSelector,
  matchFields,
  fieldsUsed,
  escapeFieldValue,
  SelectorError,
  type LabelRequirement,
} from '../../proto/selectors.js';

function selectorError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorError);
    return (e as Error).message;
  }
  throw new Error('expected a SelectorError');
}

const labels = { app: 'web', tier: 'front', env: 'prod', n: '5' };

describe('label selectors: parsing', () => {
  it.each<[string, LabelRequirement[]]>([
    ['', []],
    ['app=web', [{ key: 'app', operator: '=', values: ['web'] }]],
    ['app==web', [{ key: 'app', operator: '==', values: ['web'] }]],
    ['app!=web', [{ key: 'app', operator: '!=', values: ['web'] }]],
    ['tier in (b,a)', [{ key: 'tier', operator: 'in', values: ['a', 'b'] }]],
    ['tier notin (x)', [{ key: 'tier', operator: 'notin', values: ['x'] }]],
    ['app', [{ key: 'app', operator: 'exists', values: [] }]],
    ['!app', [{ key: 'app', operator: '!', values: [] }]],
    ['n>3', [{ key: 'n', operator: 'gt', values: ['3'] }]],
    ['n<3', [{ key: 'n', operator: 'lt', values: ['3'] }]],
    ['app=', [{ key: 'app', operator: '=', values: [''] }]],
    ['x in ()', [{ key: 'x', operator: 'in', values: [''] }]],
    ['x in (foo,,baz)', [{ key: 'x', operator: 'in', values: ['', 'baz', 'foo'] }]],
    ['x in (in,notin)', [{ key: 'x', operator: 'in', values: ['in', 'notin'] }]],
    ['example.com/app=web', [{ key: 'example.com/app', operator: '=', values: ['web'] }]],
    [
      '  tier in ( a , b ) , app = web ,!gone,env',
      [
        { key: 'app', operator: '=', values: ['web'] },
        { key: 'env', operator: 'exists', values: [] },
        { key: 'gone', operator: '!', values: [] },
        { key: 'tier', operator: 'in', values: ['a', 'b'] },
      ],
    ],
  ])('parses %j', (s, want) => {
    expect(parseLabelSelector(s)).toStrictEqual(want);
  });

  it.each<[string, string]>([
    ['app=web,', "found '', expected: identifier after ','"],
    [',app', "found ',', expected: !, identifier, or 'end of string'"],
    ['app web', "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['app=web env', "found 'env', expected: ',' or 'end of string'"],
    ['tier in a', "unable to parse requirement: found 'a' expected: '('"],
    ['tier in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['tier in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['tier in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['app=(x)', "unable to parse requirement: found '(', expected: identifier"],
    ['!=x', "found '!=', expected: !, identifier, or 'end of string'"],
    ['!!x', "unable to parse requirement: found '!', expected: identifier"],
  ])('rejects %j', (s, msg) => {
    expect(selectorError(() => parseLabelSelector(s))).toBe(msg);
  });

  it('rejects invalid keys and values with apimachinery messages', () => {
    expect(selectorError(() => parseLabelSelector('a$b=x'))).toBe(
      "unable to parse requirement: <nil>: Invalid value: \"a$b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
    expect(selectorError(() => parseLabelSelector('app=a$b'))).toBe(
      "unable to parse requirement: values[0][app]: Invalid value: \"a$b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    expect(selectorError(() => parseLabelSelector(`app=${'x'.repeat(64)}`))).toMatch(
      /must be no more than 63 characters/,
    );
    expect(selectorError(() => parseLabelSelector('Bad_Prefix/app=x'))).toMatch(
      /prefix part a lowercase RFC 1123 subdomain/,
    );
    expect(selectorError(() => parseLabelSelector('/app'))).toMatch(/prefix part must be non-empty/);
    expect(selectorError(() => parseLabelSelector('a/b/c'))).toMatch(/a qualified name must consist of/);
    expect(selectorError(() => parseLabelSelector('n>x'))).toMatch(
      /for 'Gt', 'Lt' operators, the value must be an integer/,
    );
  });
});

describe('label selectors: matching', () => {
  it.each<[string, boolean]>([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['missing=x', false],
    ['app!=api', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['tier in (front,back)', true],
    ['tier in (back)', false],
    ['missing in (x)', false],
    ['tier notin (back)', true],
    ['tier notin (front)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['n>3', true],
    ['n>5', false],
    ['n<6', true],
    ['app>1', false],
    ['app=web,tier in (front),!missing,env', true],
    ['app=web,tier=back', false],
  ])('%j', (s, want) => {
    expect(matchLabels(parseLabelSelector(s), labels)).toBe(want);
  });

  it('treats missing labels as empty', () => {
    expect(matchLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchLabels(parseLabelSelector('app'), undefined)).toBe(false);
    expect(matchLabels([], undefined)).toBe(true);
  });

  it('does not see inherited properties as labels', () => {
    expect(matchLabels(parseLabelSelector('constructor'), {})).toBe(false);
  });
});

describe('label selectors: metav1.LabelSelector objects', () => {
  it('null/undefined selects nothing, an empty selector everything', () => {
    expect(labelSelectorFromObject(null)).toBeNull();
    expect(labelSelectorFromObject(undefined)).toBeNull();
    expect(labelSelectorFromObject({})).toStrictEqual([]);
    expect(labelSelectorFromObject({ matchLabels: {}, matchExpressions: [] })).toStrictEqual([]);
    expect(matchLabels(labelSelectorFromObject({})!, undefined)).toBe(true);
  });

  it('converts matchLabels and every matchExpressions operator', () => {
    const reqs = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'back'] },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
        { key: 'n', operator: 'Exists' },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    })!;
    expect(reqs).toStrictEqual([
      { key: 'app', operator: '=', values: ['web'] },
      { key: 'env', operator: 'notin', values: ['dev'] },
      { key: 'gone', operator: '!', values: [] },
      { key: 'n', operator: 'exists', values: [] },
      { key: 'tier', operator: 'in', values: ['front', 'back'] },
    ]);
    expect(matchLabels(reqs, labels)).toBe(true);
    expect(matchLabels(reqs, { ...labels, gone: 'x' })).toBe(false);
    expect(matchLabels(reqs, { ...labels, env: 'dev' })).toBe(false);
  });

  it('rejects invalid selectors', () => {
    expect(
      selectorError(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] })),
    ).toBe('"Gt" is not a valid label selector operator');
    expect(
      selectorError(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })),
    ).toBe("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
    expect(
      selectorError(() =>
        labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      ),
    ).toBe('values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist');
    expect(selectorError(() => labelSelectorFromObject({ matchLabels: { 'a b': 'x' } }))).toMatch(
      /^key: Invalid value: "a b": name part must consist/,
    );
    expect(selectorError(() => labelSelectorFromObject({ matchLabels: { 'a b': 'x y' } }))).toMatch(
      /^\[key: Invalid value: "a b": .*, values\[0\]\[a b\]: Invalid value: "x y": .*\]$/,
    );
  });
});

describe('label selectors: formatting', () => {
  it('formats as selector.String()', () => {
    expect(formatLabelSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
    expect(formatLabelSelector({ matchLabels: { tier: 'x', app: 'web' } })).toBe('app=web,tier=x');
    expect(
      formatLabelSelector({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['b', 'a'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'x', operator: 'Exists' },
          { key: 'y', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,env notin (dev),tier in (a,b),x,!y');
    expect(formatLabelSelector({})).toBe('');
    expect(formatLabelSelector(null)).toBe('');
  });

  it.each(['app=web', 'app=web,tier in (a,b)', 'app!=web,env notin (dev),x,!y', 'a==b', 'n>3,m<4', 'x in ()'])(
    'round-trips %j',
    (s) => {
      const reqs = parseLabelSelector(s);
      const formatted = formatLabelSelector(reqs);
      expect(parseLabelSelector(formatted)).toStrictEqual(reqs);
    },
  );

  it('normalizes order and spacing', () => {
    expect(formatLabelSelector(parseLabelSelector(' tier in ( b , a ) ,  app = web '))).toBe('app=web,tier in (a,b)');
  });
});

describe('field selectors', () => {
  const pod: Record<string, string> = {
    'metadata.name': 'x',
    'metadata.namespace': 'demo',
    'spec.nodeName': 'node-1',
    'status.phase': 'Running',
  };
  const get = (f: string) => pod[f];

  it('parses =, ==, != and comma-separated terms (sorted, as upstream)', () => {
    expect(parseFieldSelector('')).toStrictEqual([]);
    expect(parseFieldSelector('metadata.name=x')).toStrictEqual([
      { field: 'metadata.name', operator: '=', value: 'x' },
    ]);
    expect(parseFieldSelector('metadata.name==x')).toStrictEqual([
      { field: 'metadata.name', operator: '=', value: 'x' },
    ]);
    expect(parseFieldSelector('status.phase!=Succeeded,status.phase!=Failed')).toStrictEqual([
      { field: 'status.phase', operator: '!=', value: 'Failed' },
      { field: 'status.phase', operator: '!=', value: 'Succeeded' },
    ]);
    expect(parseFieldSelector('spec.nodeName=,')).toStrictEqual([{ field: 'spec.nodeName', operator: '=', value: '' }]);
  });

  it('handles backslash escapes', () => {
    expect(parseFieldSelector('metadata.name=a\\,b\\=c\\\\d')).toStrictEqual([
      { field: 'metadata.name', operator: '=', value: 'a,b=c\\d' },
    ]);
    expect(parseFieldSelector('a=x\\,y,b=z')).toStrictEqual([
      { field: 'a', operator: '=', value: 'x,y' },
      { field: 'b', operator: '=', value: 'z' },
    ]);
    expect(escapeFieldValue('a,b=c\\d')).toBe('a\\,b\\=c\\\\d');
    expect(parseFieldSelector(`f=${escapeFieldValue('a,b=c\\d')}`)[0]!.value).toBe('a,b=c\\d');
  });

  it('rejects bad syntax', () => {
    expect(selectorError(() => parseFieldSelector('metadata.name'))).toBe(
      "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
    );
    expect(selectorError(() => parseFieldSelector('a=b,c'))).toBe("invalid selector: 'a=b,c'; can't understand 'c'");
    expect(selectorError(() => parseFieldSelector('a=b\\x'))).toBe(
      'invalid field selector: invalid escape sequence: \\x',
    );
    expect(selectorError(() => parseFieldSelector('a=b\\'))).toBe(
      'invalid field selector: invalid escape sequence: \\',
    );
    expect(selectorError(() => parseFieldSelector('a=b=c'))).toBe(
      'invalid field selector: unescaped character in value: 61',
    );
  });

  it('matches', () => {
    expect(matchFields(parseFieldSelector('status.phase!=Succeeded,status.phase!=Failed'), get)).toBe(true);
    expect(matchFields(parseFieldSelector('status.phase!=Running'), get)).toBe(false);
    expect(matchFields(parseFieldSelector('spec.nodeName=node-1,metadata.namespace=demo'), get)).toBe(true);
    expect(matchFields(parseFieldSelector('spec.nodeName=node-2'), get)).toBe(false);
    expect(matchFields(parseFieldSelector('metadata.name==x'), get)).toBe(true);
    // a field without a value reads as ''
    expect(matchFields(parseFieldSelector('spec.hostname='), get)).toBe(true);
    expect(matchFields([], get)).toBe(true);
  });

  it('event involvedObject fields', () => {
    const ev: Record<string, string> = {
      'involvedObject.name': 'x',
      'involvedObject.namespace': 'demo',
      'involvedObject.kind': 'Pod',
      'involvedObject.uid': 'u1',
    };
    const reqs = parseFieldSelector(
      'involvedObject.name=x,involvedObject.namespace=demo,involvedObject.kind=Pod,involvedObject.uid=u1',
    );
    expect(matchFields(reqs, (f) => ev[f])).toBe(true);
    expect(matchFields(parseFieldSelector('involvedObject.name=x'), (f) => ev[f])).toBe(true);
    expect(matchFields(parseFieldSelector('involvedObject.name=y'), (f) => ev[f])).toBe(false);
    expect(fieldsUsed(reqs)).toStrictEqual([
      'involvedObject.kind',
      'involvedObject.name',
      'involvedObject.namespace',
      'involvedObject.uid',
    ]);
  });

  it('fieldsUsed lists each field once', () => {
    expect(
      fieldsUsed(parseFieldSelector('status.phase!=Succeeded,status.phase!=Failed,spec.nodeName=n')),
    ).toStrictEqual(['spec.nodeName', 'status.phase']);
  });
});
