import { statePlacementTablesJson } from './state.js';
import { report } from './fakes.js';

describe('statePlacementTablesJson', () => {
  it('renders Go encoding/json of StatePlacementTables: proto names, zero values omitted, namespaces sorted', () => {
    const json = statePlacementTablesJson({
      zeta: { version: 0, hosts: [] },
      alpha: { version: 3, hosts: [report('10.0.0.1:50002', ['counter'], { namespace: 'alpha' })] },
    });
    expect(json).toBe(
      '{"tables":{"alpha":{"hosts":[{"name":"10.0.0.1:50002","entities":["counter"],"id":"app","api_level":20,"namespace":"alpha","operation":1}],"version":3},"zeta":{}}}',
    );
  });

  it('renders {} when there are no namespaces', () => {
    expect(statePlacementTablesJson({})).toBe('{}');
  });
});
