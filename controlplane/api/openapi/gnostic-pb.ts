// The swagger 2.0 document in gnostic's protobuf form (openapi.v2.Document of
// github.com/google/gnostic-models openapiv2/OpenAPIv2.proto), which is the only form
// client-go's DiscoveryClient.OpenAPISchema() reads: `GET /openapi/v2` with
// `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, then
// proto.Unmarshal. kubectl uses it for client-side validation (the items of a
// `kind: List`, --validate=strict when the server lacks fieldValidation) and
// `explain --output=plaintext-openapiv2`. Field numbers are the .proto's; vendor
// extensions travel as YAML (JSON is YAML) in Any.yaml, as gnostic writes them.
// Write side of the wire format only; pure.

/** one growing buffer; a nested message is written in place after a reserved length prefix */
class Writer {
  private buf = Buffer.allocUnsafe(1 << 16);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(n: number): void {
    this.ensure(10);
    let v = n;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  string(field: number, s: string | undefined): void {
    if (s === undefined || s === '') return;
    const len = Buffer.byteLength(s, 'utf8');
    this.tag(field, 2);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bool(field: number, v: unknown): void {
    if (v !== true) return;
    this.tag(field, 0);
    this.varint(1);
  }

  double(field: number, v: unknown): void {
    if (typeof v !== 'number') return;
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  int64(field: number, v: unknown): void {
    if (typeof v !== 'number' || v <= 0) return;
    this.tag(field, 0);
    this.varint(v);
  }

  /** a length-delimited sub-message: the body is written after a 5-byte gap, then moved next to its length */
  message(field: number, build: (w: Writer) => void): void {
    this.tag(field, 2);
    this.ensure(5);
    const gap = this.pos;
    this.pos += 5;
    build(this);
    const len = this.pos - gap - 5;
    const head: number[] = [];
    let v = len;
    while (v > 0x7f) {
      head.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    head.push(v);
    for (let i = 0; i < head.length; i++) this.buf[gap + i] = head[i]!;
    if (head.length < 5) this.buf.copyWithin(gap + head.length, gap + 5, this.pos);
    this.pos -= 5 - head.length;
  }

  finish(): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, 0, this.pos);
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Any { yaml = 2 } */
function any(w: Writer, field: number, v: unknown): void {
  w.message(field, (a) => a.string(2, JSON.stringify(v)));
}

/** repeated NamedAny vendor_extension: the x- keys of an object */
function extensions(w: Writer, field: number, o: Json): void {
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith('x-')) continue;
    w.message(field, (n) => {
      n.string(1, k);
      any(n, 2, v);
    });
  }
}

function schema(w: Writer, s: Json): void {
  w.string(1, str(s.$ref));
  w.string(2, str(s.format));
  w.string(3, str(s.title));
  w.string(4, str(s.description));
  if (s.default !== undefined) any(w, 5, s.default);
  w.double(6, s.multipleOf);
  w.double(7, s.maximum);
  w.bool(8, s.exclusiveMaximum);
  w.double(9, s.minimum);
  w.bool(10, s.exclusiveMinimum);
  w.int64(11, s.maxLength);
  w.int64(12, s.minLength);
  w.string(13, str(s.pattern));
  w.int64(14, s.maxItems);
  w.int64(15, s.minItems);
  w.bool(16, s.uniqueItems);
  w.int64(17, s.maxProperties);
  w.int64(18, s.minProperties);
  if (Array.isArray(s.required)) for (const r of s.required) w.string(19, str(r));
  if (Array.isArray(s.enum)) for (const e of s.enum) any(w, 20, e);
  if (isObj(s.additionalProperties)) {
    const ap = s.additionalProperties;
    w.message(21, (a) => a.message(1, (x) => schema(x, ap)));
  } else if (s.additionalProperties === true) {
    w.message(21, (a) => a.bool(2, true));
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    w.message(22, (t) => {
      for (const x of types) t.string(1, str(x));
    });
  }
  if (s.items !== undefined) {
    const items = Array.isArray(s.items) ? s.items : [s.items];
    w.message(23, (it) => {
      for (const x of items) if (isObj(x)) it.message(1, (y) => schema(y, x));
    });
  }
  if (Array.isArray(s.allOf)) for (const x of s.allOf) if (isObj(x)) w.message(24, (y) => schema(y, x));
  if (isObj(s.properties)) {
    const props = s.properties;
    w.message(25, (p) => {
      for (const [name, v] of Object.entries(props))
        if (isObj(v))
          p.message(1, (n) => {
            n.string(1, name);
            n.message(2, (y) => schema(y, v));
          });
    });
  }
  if (s.example !== undefined) any(w, 30, s.example);
  extensions(w, 31, s);
}

/** a query, path or body parameter (ParametersItem { Parameter parameter = 1 }) */
function parameter(w: Writer, p: Json): void {
  w.message(1, (param) => {
    if (p.in === 'body') {
      param.message(1, (b) => {
        b.string(1, str(p.description));
        b.string(2, str(p.name));
        b.string(3, 'body');
        b.bool(4, p.required);
        if (isObj(p.schema)) {
          const sc = p.schema;
          b.message(5, (x) => schema(x, sc));
        }
      });
      return;
    }
    // NonBodyParameter: query_parameter_sub_schema = 3 / path_parameter_sub_schema = 4
    param.message(2, (nb) => {
      if (p.in === 'path') {
        nb.message(4, (x) => {
          x.bool(1, p.required);
          x.string(2, 'path');
          x.string(3, str(p.description));
          x.string(4, str(p.name));
          x.string(5, str(p.type));
          x.bool(19, p.uniqueItems);
        });
      } else {
        nb.message(3, (x) => {
          x.bool(1, p.required);
          x.string(2, 'query');
          x.string(3, str(p.description));
          x.string(4, str(p.name));
          x.string(6, str(p.type));
          x.bool(20, p.uniqueItems);
        });
      }
    });
  });
}

function operation(w: Writer, o: Json): void {
  if (Array.isArray(o.tags)) for (const t of o.tags) w.string(1, str(t));
  w.string(3, str(o.description));
  w.string(5, str(o.operationId));
  if (Array.isArray(o.produces)) for (const t of o.produces) w.string(6, str(t));
  if (Array.isArray(o.consumes)) for (const t of o.consumes) w.string(7, str(t));
  if (Array.isArray(o.parameters)) for (const p of o.parameters) if (isObj(p)) w.message(8, (x) => parameter(x, p));
  if (isObj(o.responses)) {
    const rs = o.responses;
    w.message(9, (r) => {
      for (const [code, v] of Object.entries(rs)) {
        if (!isObj(v)) continue;
        r.message(1, (n) => {
          n.string(1, code);
          n.message(2, (rv) =>
            rv.message(1, (resp) => {
              resp.string(1, str(v.description));
              if (isObj(v.schema)) {
                const sc = v.schema;
                resp.message(2, (si) => si.message(1, (x) => schema(x, sc)));
              }
            }),
          );
        });
      }
    });
  }
  if (Array.isArray(o.schemes)) for (const t of o.schemes) w.string(10, str(t));
  extensions(w, 13, o);
}

const METHODS: [string, number][] = [
  ['get', 2],
  ['put', 3],
  ['post', 4],
  ['delete', 5],
  ['options', 6],
  ['head', 7],
  ['patch', 8],
];

/** encode a swagger 2.0 JSON document as openapi.v2.Document */
export function encodeOpenApiV2(doc: Json): Uint8Array {
  const w = new Writer();
  w.string(1, str(doc.swagger));
  if (isObj(doc.info)) {
    const info = doc.info;
    w.message(2, (i) => {
      i.string(1, str(info.title));
      i.string(2, str(info.version));
    });
  }
  if (isObj(doc.paths)) {
    const paths = doc.paths;
    w.message(8, (ps) => {
      for (const [path, item] of Object.entries(paths)) {
        if (!isObj(item)) continue;
        ps.message(2, (np) => {
          np.string(1, path);
          np.message(2, (pi) => {
            for (const [m, f] of METHODS) {
              const o = item[m];
              if (isObj(o)) pi.message(f, (x) => operation(x, o));
            }
            if (Array.isArray(item.parameters))
              for (const p of item.parameters) if (isObj(p)) pi.message(9, (x) => parameter(x, p));
          });
        });
      }
    });
  }
  if (isObj(doc.definitions)) {
    const defs = doc.definitions;
    w.message(9, (d) => {
      for (const [name, s] of Object.entries(defs))
        if (isObj(s))
          d.message(1, (n) => {
            n.string(1, name);
            n.message(2, (x) => schema(x, s));
          });
    });
  }
  if (Array.isArray(doc.security)) {
    for (const req of doc.security) {
      if (!isObj(req)) continue;
      w.message(12, (sr) => {
        for (const [name, scopes] of Object.entries(req)) {
          sr.message(1, (n) => {
            n.string(1, name);
            n.message(2, (sa) => {
              if (Array.isArray(scopes)) for (const s of scopes) sa.string(1, str(s));
            });
          });
        }
      });
    }
  }
  if (isObj(doc.securityDefinitions)) {
    const sd = doc.securityDefinitions;
    w.message(13, (s) => {
      for (const [name, v] of Object.entries(sd)) {
        if (!isObj(v)) continue;
        // ApiKeySecurity = 2 { type, name, in, description }
        s.message(1, (n) => {
          n.string(1, name);
          n.message(2, (item) =>
            item.message(2, (k) => {
              k.string(1, str(v.type));
              k.string(2, str(v.name));
              k.string(3, str(v.in));
              k.string(4, str(v.description));
            }),
          );
        });
      }
    });
  }
  return w.finish();
}
