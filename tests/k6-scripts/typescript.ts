// A TypeScript script, as k6 runs it: types stripped, not checked; it imports a .ts file.
import http from "k6/http";
import { check, group } from "k6";
import { Trend } from "k6/metrics";
import { base } from "./lib/helpers.js";
import { pages, type Page } from "./lib/typed.ts";

type Options = { vus: number; iterations: number };

export const options: Options = { vus: 2, iterations: 6 };

const sizes = new Trend("page_size");

function fetch(page: Page): number {
  const res = http.get(page.path, { tags: { name: page.name } });
  check(res, { [`${page.name} is 200`]: (r) => r.status === 200 });
  return (res.body as string).length;
}

export default function (): void {
  group("typed", () => {
    for (const page of pages(base())) {
      sizes.add(fetch(page)!, { page: page.name });
    }
  });
}
