import { SettlePolicy } from './settle.js';

const options = { quietMs: 1000, maxMs: 5000 };

describe('SettlePolicy', () => {
  describe('with the previous leader’s record', () => {
    it('waits until every namespace has its recorded actor hosts back', () => {
      const policy = new SettlePolicy(options, 0, { a: 2, b: 1 });
      expect(policy.decide(100, (ns) => (ns === 'a' ? 2 : 0))).toEqual({ release: false, recheckInMs: 4900 });
      expect(policy.decide(200, () => 2)).toMatchObject({ release: true });
    });

    it('releases at the maximum wait even if some never return', () => {
      const policy = new SettlePolicy(options, 0, { a: 5 });
      expect(policy.decide(5000, () => 1)).toMatchObject({ release: true, reason: 'waited the maximum of 5000 ms' });
    });

    it('releases at once when the record is empty', () => {
      expect(new SettlePolicy(options, 0, {}).decide(0, () => 0)).toMatchObject({ release: true });
    });
  });

  describe('without a record', () => {
    it('releases once no stream has arrived for the quiet period', () => {
      const policy = new SettlePolicy(options, 0, undefined);
      policy.streamOpened(700);
      expect(policy.decide(1000, () => 0)).toEqual({ release: false, recheckInMs: 700 });
      expect(policy.decide(1700, () => 0)).toMatchObject({ release: true, reason: 'no new stream for 1000 ms' });
    });
  });
});
