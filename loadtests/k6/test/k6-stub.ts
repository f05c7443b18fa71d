/**
 * Stand-in for the k6 modules (k6, k6/http, k6/metrics) when jest loads a script to read its `options`
 * (jest.config.js maps every `k6/…` import here). Nothing here sends requests: calling a function that
 * only k6 can run throws, so a test cannot pass by accident while "running" a script.
 */
const onlyInK6 = (name: string) => () => {
  throw new Error(`${name}() runs only inside k6; tests read options, they do not run scenarios`);
};

/** What http.expectedStatuses() returned, so tests can see which statuses a scenario accepts. */
export interface ExpectedStatusesStub {
  readonly expectedStatuses: readonly (number | { min: number; max: number })[];
}

const http = {
  expectedStatuses: (...statuses: (number | { min: number; max: number })[]): ExpectedStatusesStub => ({ expectedStatuses: statuses }),
  setResponseCallback: onlyInK6('http.setResponseCallback'),
  get: onlyInK6('http.get'),
  post: onlyInK6('http.post'),
  batch: onlyInK6('http.batch'),
  request: onlyInK6('http.request'),
};
export default http;

export const check = onlyInK6('check');
export const fail = onlyInK6('fail');
export const sleep = onlyInK6('sleep');
export const group = onlyInK6('group');

class Metric {
  constructor(readonly name: string) {}
  add(): void {
    throw new Error(`metric ${this.name}: add() runs only inside k6`);
  }
}
export class Counter extends Metric {}
export class Trend extends Metric {}
export class Rate extends Metric {}
export class Gauge extends Metric {}
