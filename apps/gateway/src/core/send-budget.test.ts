import { describe, expect, it } from 'vitest';
import { overBudget } from './send-budget.js';

describe('overBudget', () => {
  const size = (x: number) => x;
  it('closes nothing within the budget, and ignores empty buffers', () => {
    expect(overBudget([0, 100, 200, 0], size, 300)).toEqual([]);
  });
  it('closes the largest first, as few as bring the rest within the budget', () => {
    expect(overBudget([100, 500, 50, 400, 300], size, 600)).toEqual([500, 400]);
    expect(overBudget([100, 500, 50, 400, 300], size, 900)).toEqual([500]);
    expect(overBudget([10, 10, 10], size, 0)).toEqual([10, 10, 10]);
  });
});
