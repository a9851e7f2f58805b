// Imported by a relative path, as k6 scripts split their code.
export function base() {
  const url = __ENV.TEST_SERVER;
  if (!url) {
    throw new Error("TEST_SERVER is not set: run against the built-in test server");
  }
  return url;
}

export function isOk(res) {
  return res.status === 200;
}
