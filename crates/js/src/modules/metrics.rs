//! `k6/metrics`: Counter, Gauge, Rate, Trend, recorded as the plan's custom metrics.

pub const SOURCE: &str = r##"
const L = globalThis.__loadrun;

class Metric {
  constructor(name, type, isTime) {
    this.name = String(name);
    this.type = type;
    this._index = L.metric(this.name, type, !!isTime);
  }
  add(value, tags) {
    const v = this.type === "rate" ? (value ? 1 : 0) : Number(value);
    L.add(this._index, v, tags === undefined || tags === null ? undefined : JSON.stringify(tags));
    return true;
  }
}

export class Counter extends Metric {
  constructor(name, isTime) { super(name, "counter", isTime); }
}
export class Gauge extends Metric {
  constructor(name, isTime) { super(name, "gauge", isTime); }
}
export class Rate extends Metric {
  constructor(name, isTime) { super(name, "rate", isTime); }
}
export class Trend extends Metric {
  constructor(name, isTime) { super(name, "trend", isTime); }
}

export default { Counter, Gauge, Rate, Trend };
"##;
