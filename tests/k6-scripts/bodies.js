// Request bodies as bytes (ArrayBuffer, typed arrays), binary responses, and http.file() in an
// object body sent as multipart/form-data (the boundary is random: checked by its form).
import http from "k6/http";
import { check, group } from "k6";
import encoding from "k6/encoding";
import { base } from "./lib/helpers.js";

export const options = { vus: 2, iterations: 4 };

const dataURL = (bytes) => "data:application/octet-stream;base64," + encoding.b64encode(bytes);

export default function () {
  group("binary", () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const r = http.post(`${base()}/post`, bytes.buffer, { headers: { "Content-Type": "application/octet-stream" } });
    check(r, { "an ArrayBuffer is sent as its bytes": (r) => r.json("data") === dataURL(bytes.buffer) });
    const v = http.post(`${base()}/post`, bytes.subarray(1, 3));
    check(v, { "a typed array is sent as its view's bytes": (r) => r.json("data") === dataURL(new Uint8Array([1, 2]).buffer) });
    const t = http.put(`${base()}/put`, new TextEncoderLike("héllo").bytes());
    check(t, { "UTF-8 bytes arrive as text": (r) => r.json("data") === "héllo" });
    const b = http.get(`${base()}/bytes/5`, { responseType: "binary" });
    check(b, { "responseType binary is an ArrayBuffer": (r) => r.body instanceof ArrayBuffer && r.body.byteLength === 5 });
  });
  group("form", () => {
    const r = http.post(`${base()}/post`, { b: "x y", a: ["1", "2"], c: "!*é", e: 3 });
    check(r, {
      "an object is form-encoded as Go encodes it": (r) => r.json("data") === "a=1&a=2&b=x+y&c=%21%2A%C3%A9&e=3",
      "with its content type": (r) => r.json("headers.Content-Type") === "application/x-www-form-urlencoded",
    });
  });
  group("multipart", () => {
    const r = http.post(`${base()}/post`, {
      field: "value",
      file: http.file("hello", "hello.txt", "text/plain"),
    });
    check(r, {
      "a file makes the body multipart": (r) => /^multipart\/form-data; boundary=[0-9a-f]{60}$/.test(r.json("headers.Content-Type")),
      "the file part": (r) => r.json("data").includes('Content-Disposition: form-data; name="file"; filename="hello.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--'),
      "the field part": (r) => r.json("data").includes('Content-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--'),
      "the closing boundary": (r) => /\r\n--[0-9a-f]{60}--\r\n$/.test(r.json("data")),
    });
    const d = http.post(`${base()}/post`, { doc: http.file("x") });
    check(d, {
      "file defaults: a numeric name, octet-stream": (r) =>
        /name="doc"; filename="[0-9]+"\r\nContent-Type: application\/octet-stream\r\n/.test(r.json("data")),
    });
    const own = http.post(`${base()}/post`, { f: http.file("y", "y.txt") }, { headers: { "Content-Type": "multipart/mixed; boundary=zz" } });
    check(own, { "the script's Content-Type wins": (r) => r.json("headers.Content-Type") === "multipart/mixed; boundary=zz" });
  });
}

// UTF-8 bytes of a string, without TextEncoder (k6 has none).
function TextEncoderLike(s) {
  this.bytes = () => {
    const utf8 = unescape(encodeURIComponent(s));
    const out = new Uint8Array(utf8.length);
    for (let i = 0; i < utf8.length; i++) out[i] = utf8.charCodeAt(i);
    return out;
  };
}
