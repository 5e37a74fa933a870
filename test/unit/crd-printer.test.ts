// additionalPrinterColumns: the simple JSONPaths CRDs use, typed cells as the
// tableconvertor makes them, and the default Age column of a CRD without columns.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { findResults, parseJsonPath } from '../../controlplane/crd/jsonpath.js';
import { printerColumns, rowBuilder, tableColumns } from '../../controlplane/crd/printer-columns.js';

const obj: KubeObject = {
  metadata: { name: 'web', creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: {
    replicas: 3,
    ratio: 0.5,
    paused: false,
    image: 'nginx',
    ports: [
      { name: 'http', port: 80 },
      { name: 'https', port: 443 },
    ],
  },
  status: {
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'Synced', status: 'False' },
    ],
    since: '2026-01-01T00:00:00Z',
  },
};

describe('printer columns', () => {
  it.each([
    ['.spec.replicas', [3]],
    ['.spec.ports[1].name', ['https']],
    ['.spec.ports[*].port', [80, 443]],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    ['.metadata.labels.app\\.kubernetes\\.io/name', ['web']],
    ['.spec.missing', []],
  ])('%s', (path, want) => {
    expect(findResults(obj, parseJsonPath(path))).toEqual(want);
  });

  it('makes typed cells: integer, number, boolean, string (objects as JSON), date as an age, missing as null', () => {
    const cols = printerColumns([
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
      { name: 'Ports', type: 'string', jsonPath: '.spec.ports[0]', priority: 1 },
      { name: 'Since', type: 'date', jsonPath: '.status.since' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Gone', type: 'string', jsonPath: '.spec.gone' },
    ]);
    const now = Date.parse('2026-01-01T00:05:00Z');
    expect(rowBuilder(cols)(obj, now)).toEqual(['web', 3, 0.5, false, '{"name":"http","port":80}', '5m', 'True', null]);
    expect(tableColumns(cols).map((c) => [c.name, c.type, c.priority])).toEqual([
      ['Name', 'string', 0],
      ['Replicas', 'integer', 0],
      ['Ratio', 'number', 0],
      ['Paused', 'boolean', 0],
      ['Ports', 'string', 1],
      ['Since', 'date', 0],
      ['Ready', 'string', 0],
      ['Gone', 'string', 0],
    ]);
  });

  it('serves Age when the version has no columns', () => {
    const cols = printerColumns(undefined);
    expect(tableColumns(cols).map((c) => c.name)).toEqual(['Name', 'Age']);
    expect(rowBuilder(cols)(obj, Date.parse('2026-01-03T00:00:00Z'))).toEqual(['web', '2d']);
  });
});
