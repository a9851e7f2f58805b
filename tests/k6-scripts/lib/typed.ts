// Imported from a .ts script: types, an interface and an enum.
export interface Page {
  path: string;
  name: string;
}

export enum Kind {
  Plain = "plain",
  Json = "json",
}

export function pages(base: string): Page[] {
  return [
    { path: `${base}/get`, name: Kind.Plain },
    { path: `${base}/json`, name: Kind.Json },
  ];
}
