// The REST operations of one kind as kube-apiserver's OpenAPI lists them: collection
// (list, create, deletecollection), item (read, replace, delete, patch), the
// all-namespaces list, and the status and scale subresources, each with its
// operationId (`patchAppsV1NamespacedDeployment`), tag, query parameters (the
// `fieldValidation` of create/update/patch is what kubectl checks before validating on
// the server), request body, responses and `x-kubernetes-action` /
// `x-kubernetes-group-version-kind`. Only the verbs the kind serves are listed.
import type { ResourceDef } from '../../resources/types.js';
import { META, groupCamel, tagOf } from './names.js';
import { refPrefix, type Flavor, type Schema } from './schemas.js';

const q = (name: string, type: 'string' | 'boolean' | 'integer', description: string): Schema => ({
  name,
  in: 'query',
  description,
  type,
  uniqueItems: true,
});

const P = {
  allowWatchBookmarks: q(
    'allowWatchBookmarks',
    'boolean',
    'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.',
  ),
  continue: q(
    'continue',
    'string',
    'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.',
  ),
  fieldSelector: q(
    'fieldSelector',
    'string',
    'A selector to restrict the list of returned objects by their fields. Defaults to everything.',
  ),
  labelSelector: q(
    'labelSelector',
    'string',
    'A selector to restrict the list of returned objects by their labels. Defaults to everything.',
  ),
  limit: q(
    'limit',
    'integer',
    'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.',
  ),
  resourceVersion: q(
    'resourceVersion',
    'string',
    'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  resourceVersionMatch: q(
    'resourceVersionMatch',
    'string',
    'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  sendInitialEvents: q(
    'sendInitialEvents',
    'boolean',
    '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection.',
  ),
  timeoutSeconds: q(
    'timeoutSeconds',
    'integer',
    'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.',
  ),
  watch: q(
    'watch',
    'boolean',
    'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.',
  ),
  dryRun: q(
    'dryRun',
    'string',
    'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
  ),
  fieldManager: q(
    'fieldManager',
    'string',
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.',
  ),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
  ),
  force: q(
    'force',
    'boolean',
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
  ),
  gracePeriodSeconds: q(
    'gracePeriodSeconds',
    'integer',
    'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.',
  ),
  orphanDependents: q(
    'orphanDependents',
    'boolean',
    'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.',
  ),
  propagationPolicy: q(
    'propagationPolicy',
    'string',
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
  ),
  pretty: q(
    'pretty',
    'string',
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user agent indicates a browser or command-line tool (curl and wget).",
  ),
};
const LIST = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

function pathParam(name: string, description: string): Schema {
  return { name, in: 'path', required: true, description, type: 'string', uniqueItems: true };
}

/** kube-openapi's v3 parameter: the type moves under `schema` */
function paramFor(flavor: Flavor, p: Schema): Schema {
  if (flavor === 'v2') return p;
  const { type, uniqueItems, ...rest } = p;
  return { ...rest, schema: { type, uniqueItems } };
}

export interface KindNames {
  item: string;
  list: string;
}

const PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** every path item of one kind, keyed by path */
export function kindPaths(
  flavor: Flavor,
  d: ResourceDef,
  names: KindNames,
  opts: { scale?: boolean } = {},
): Record<string, Schema> {
  const base = d.group ? `/apis/${d.group}/${d.version}` : `/api/${d.version}`;
  const gvk = { group: d.group, kind: d.kind, version: d.version };
  const G = `${groupCamel(d.group)}${d.version[0]!.toUpperCase()}${d.version.slice(1)}`;
  const ns = d.namespaced ? 'Namespaced' : '';
  const tag = tagOf(d.group, d.version);
  const ref = (name: string): Schema => ({ $ref: `${refPrefix(flavor)}${name}` });
  const mediaTypes = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
  const response = (schemaName: string, description: string, extraTypes: string[] = []): Schema =>
    flavor === 'v3'
      ? {
          description,
          content: Object.fromEntries([...mediaTypes, ...extraTypes].map((m) => [m, { schema: ref(schemaName) }])),
        }
      : { description, schema: ref(schemaName) };
  const responses = (codes: [string, string][], schemaName: string, extra: string[] = []): Schema => ({
    ...Object.fromEntries(codes.map(([c, desc]) => [c, response(schemaName, desc, extra)])),
    401: { description: 'Unauthorized' },
  });
  const body = (schemaName: string, contentTypes: string[] = ['*/*']): { requestBody?: Schema; bodyParam?: Schema } =>
    flavor === 'v3'
      ? {
          requestBody: {
            content: Object.fromEntries(contentTypes.map((c) => [c, { schema: ref(schemaName) }])),
            required: true,
          },
        }
      : { bodyParam: { name: 'body', in: 'body', required: true, schema: ref(schemaName) } };
  const op = (
    action: string,
    id: string,
    description: string,
    params: Schema[],
    resp: Schema,
    b?: { requestBody?: Schema; bodyParam?: Schema },
    consumes?: string[],
  ): Schema => {
    const o: Schema = { tags: [tag], description, operationId: id };
    const ps = params.map((p) => paramFor(flavor, p));
    if (b?.bodyParam) ps.unshift(b.bodyParam);
    if (ps.length) o.parameters = ps;
    if (b?.requestBody) o.requestBody = b.requestBody;
    if (flavor === 'v2') {
      o.consumes = consumes ?? ['*/*'];
      o.produces = [
        ...mediaTypes,
        ...(action === 'list'
          ? ['application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch']
          : []),
      ];
      o.schemes = ['https'];
    }
    o.responses = resp;
    o['x-kubernetes-action'] = action;
    o['x-kubernetes-group-version-kind'] = gvk;
    return o;
  };
  const verbs = new Set(d.verbs);
  const patchTypes = d.custom ? PATCH_TYPES.filter((t) => t !== 'application/strategic-merge-patch+json') : PATCH_TYPES;
  const k = d.kind;
  const out: Record<string, Schema> = {};
  const nsParam = d.namespaced
    ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')]
    : [];

  const coll: Schema = {};
  if (verbs.has('list'))
    coll.get = op(
      'list',
      `list${G}${ns}${k}`,
      `list or watch objects of kind ${k}`,
      LIST,
      responses([['200', 'OK']], names.list, [
        'application/json;stream=watch',
        'application/vnd.kubernetes.protobuf;stream=watch',
      ]),
    );
  if (verbs.has('create'))
    coll.post = op(
      'post',
      `create${G}${ns}${k}`,
      `create ${article(k)} ${k}`,
      WRITE,
      responses(
        [
          ['200', 'OK'],
          ['201', 'Created'],
          ['202', 'Accepted'],
        ],
        names.item,
      ),
      body(names.item),
    );
  if (verbs.has('deletecollection'))
    coll.delete = op(
      'deletecollection',
      `deleteCollection${G}${ns}${k}`,
      `delete collection of ${k}`,
      [...LIST.filter((p) => p !== P.watch && p !== P.allowWatchBookmarks), ...DELETE],
      responses([['200', 'OK']], `${META}.Status`),
      body(`${META}.DeleteOptions`),
    );
  if (Object.keys(coll).length) {
    coll.parameters = [...nsParam, P.pretty].map((p) => paramFor(flavor, p));
    out[d.namespaced ? `${base}/namespaces/{namespace}/${d.resource}` : `${base}/${d.resource}`] = coll;
  }

  const item: Schema = {};
  if (verbs.has('get'))
    item.get = op('get', `read${G}${ns}${k}`, `read the specified ${k}`, [], responses([['200', 'OK']], names.item));
  if (verbs.has('update'))
    item.put = op(
      'put',
      `replace${G}${ns}${k}`,
      `replace the specified ${k}`,
      WRITE,
      responses(
        [
          ['200', 'OK'],
          ['201', 'Created'],
        ],
        names.item,
      ),
      body(names.item),
    );
  if (verbs.has('delete'))
    item.delete = op(
      'delete',
      `delete${G}${ns}${k}`,
      `delete ${article(k)} ${k}`,
      DELETE,
      responses(
        [
          ['200', 'OK'],
          ['202', 'Accepted'],
        ],
        `${META}.Status`,
      ),
      body(`${META}.DeleteOptions`),
    );
  if (verbs.has('patch'))
    item.patch = op(
      'patch',
      `patch${G}${ns}${k}`,
      `partially update the specified ${k}`,
      [...WRITE, P.force],
      responses(
        [
          ['200', 'OK'],
          ['201', 'Created'],
        ],
        names.item,
      ),
      body(`${META}.Patch`, patchTypes),
      patchTypes,
    );
  if (Object.keys(item).length) {
    item.parameters = [pathParam('name', `name of the ${k}`), ...nsParam, P.pretty].map((p) => paramFor(flavor, p));
    out[d.namespaced ? `${base}/namespaces/{namespace}/${d.resource}/{name}` : `${base}/${d.resource}/{name}`] = item;
  }

  if (d.namespaced && verbs.has('list')) {
    out[`${base}/${d.resource}`] = {
      get: op(
        'list',
        `list${G}${k}ForAllNamespaces`,
        `list or watch objects of kind ${k}`,
        [],
        responses([['200', 'OK']], names.list, [
          'application/json;stream=watch',
          'application/vnd.kubernetes.protobuf;stream=watch',
        ]),
      ),
      parameters: LIST.slice(0, 5)
        .concat([P.pretty], LIST.slice(5))
        .map((p) => paramFor(flavor, p)),
    };
  }

  const sub = (name: string, kindName: string, schemaName: string, subGvk: Schema): void => {
    const s: Schema = {};
    const O = (
      action: string,
      verb: string,
      description: string,
      params: Schema[],
      resp: Schema,
      b?: { requestBody?: Schema; bodyParam?: Schema },
      consumes?: string[],
    ) => {
      const o = op(action, `${verb}${G}${ns}${k}${kindName}`, description, params, resp, b, consumes);
      o['x-kubernetes-group-version-kind'] = subGvk;
      return o;
    };
    s.get = O('get', 'read', `read ${name} of the specified ${k}`, [], responses([['200', 'OK']], schemaName));
    s.put = O(
      'put',
      'replace',
      `replace ${name} of the specified ${k}`,
      WRITE,
      responses(
        [
          ['200', 'OK'],
          ['201', 'Created'],
        ],
        schemaName,
      ),
      body(schemaName),
    );
    s.patch = O(
      'patch',
      'patch',
      `partially update ${name} of the specified ${k}`,
      [...WRITE, P.force],
      responses(
        [
          ['200', 'OK'],
          ['201', 'Created'],
        ],
        schemaName,
      ),
      body(`${META}.Patch`, patchTypes),
      patchTypes,
    );
    s.parameters = [pathParam('name', `name of the ${kindName}`), ...nsParam, P.pretty].map((p) => paramFor(flavor, p));
    out[
      d.namespaced
        ? `${base}/namespaces/{namespace}/${d.resource}/{name}/${name}`
        : `${base}/${d.resource}/{name}/${name}`
    ] = s;
  };
  if (d.subresources.includes('status')) sub('status', 'Status', names.item, gvk);
  if (opts.scale && d.subresources.includes('scale'))
    sub('scale', 'Scale', 'io.k8s.api.autoscaling.v1.Scale', { group: 'autoscaling', kind: 'Scale', version: 'v1' });
  return out;
}

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? 'an' : 'a';
}
