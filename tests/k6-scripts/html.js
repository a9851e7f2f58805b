// k6/html (parseHTML, Selection, Element), Response.html(), submitForm, clickLink and gjson
// selectors in Response.json(), against the test server's /html, /forms/post and /json.
import http from "k6/http";
import { parseHTML } from "k6/html";
import { check, group } from "k6";
import { base } from "./lib/helpers.js";

export const options = { vus: 1, iterations: 2 };

const SNIPPET = `<div id="a" class="x y"><p>one</p><p class="two">two</p><span>three</span></div>
<div id="b"><p>four</p><br><input name="q"></div>`;

function selections() {
  const doc = parseHTML(SNIPPET);
  const ps = doc.find("p");
  const two = doc.find(".two");
  check(doc, {
    "find, size, text": () => ps.size() === 3 && ps.text() === "onetwofour",
    "first, last, eq": () => ps.first().text() === "one" && ps.last().text() === "four" && ps.eq(-2).text() === "two" && ps.eq(9).size() === 0,
    "slice and end": () => ps.slice(1).text() === "twofour" && ps.slice(0, 2).text() === "onetwo" && ps.first().end().size() === 3,
    "attr with default": () => doc.find("#a").attr("class") === "x y" && doc.find("#a").attr("title") === undefined && doc.find("#a").attr("title", "none") === "none",
    "html renders as Go": () => doc.find("#b").html() === "<p>four</p><br/><input name=\"q\"/>",
    "filter, not, is, has": () =>
      ps.filter(".two").text() === "two" && ps.not(".two").size() === 2 && ps.is(".two") && !ps.is("span") &&
      doc.find("div").has("span").attr("id") === "a",
    "filter and not by function": () =>
      ps.filter((i, s) => s.text().length === 4).text() === "four" && ps.not((i) => i === 0).size() === 2,
    "children, parent, parents, closest": () =>
      doc.find("#a").children().size() === 3 && doc.find("#a").children("p").size() === 2 &&
      two.parent().attr("id") === "a" && two.parents().size() === 3 && two.closest("div").attr("id") === "a",
    "siblings, next, prev": () =>
      two.siblings().size() === 2 && two.next().text() === "three" && two.prev().text() === "one" &&
      two.nextAll().size() === 1 && two.prevAll("span").size() === 0,
    "until walks": () =>
      doc.find("#a p").first().nextUntil("span").size() === 1 && doc.find("span").prevUntil(".two").size() === 0 &&
      two.parentsUntil("body").size() === 1,
    "contents includes text": () => doc.find("#a").contents().size() === 3 && doc.find("body").contents().size() === 3,
    "add and index": () => ps.add("span").size() === 4 && two.index() === 1 && two.index("p") === 1 && ps.index(two) === 1,
    "map, each, toArray": () => {
      const texts = ps.map((i, s) => i + s.text());
      const names = [];
      ps.each((i, el) => names.push(el.nodeName()));
      return texts.join(",") === "0one,1two,2four" && names.join() === "p,p,p" && ps.toArray()[1].text() === "two";
    },
    "an invalid selector selects nothing": () => doc.find("p[").size() === 0,
  });
}

function elements() {
  const doc = parseHTML(SNIPPET);
  const a = doc.find("#a").get(0);
  const two = doc.find(".two").get(0);
  check(a, {
    "get returns Elements": () => doc.find("p").get().length === 3 && doc.find("p").get(5) === undefined,
    "nodeName, nodeType, id": () => a.nodeName() === "div" && a.nodeType() === 1 && a.id() === "a" && two.id() === "",
    "textContent and innerHTML": () => a.textContent() === "onetwothree" && two.innerHTML() === "two",
    "attributes": () =>
      a.hasAttribute("class") && !a.hasAttribute("title") && a.getAttribute("class") === "x y" &&
      a.attributes()["id"].value === "a" && a.hasAttributes() && a.getAttributeNode("id").name === "id",
    "classList and className": () => a.classList().join() === "x,y" && a.className() === "x y",
    "element children": () =>
      a.children().length === 3 && a.childElementCount() === 3 && a.firstElementChild().textContent() === "one" &&
      a.lastElementChild().nodeName() === "span" && a.childNodes().length === 3,
    "element siblings and parents": () =>
      two.previousElementSibling().textContent() === "one" && two.nextElementSibling().textContent() === "three" &&
      two.parentElement().id() === "a" && two.parentNode().id() === "a" && two.firstChild().nodeType() === 3 &&
      two.firstChild().nodeValue() === "two" && a.ownerDocument().nodeType() === 9,
    "querySelector and friends": () =>
      a.querySelector("span").textContent() === "three" && a.querySelectorAll("p").length === 2 &&
      a.getElementsByTagName("span").length === 1 && a.getElementsByClassName("two").length === 1 &&
      a.querySelector("table") === undefined,
    "contains, matches, isSameNode": () =>
      a.contains(two) && !two.contains(a) && !a.contains(a) && two.matches(".two") &&
      two.isSameNode(doc.find("p").get(1)) && !two.isSameNode(a),
  });
}

function page() {
  const res = http.get(`${base()}/html`);
  const doc = res.html();
  check(res, {
    "html(): title": () => doc.find("title").text() === "loadrun test page",
    "html(selector)": () => res.html("li a").size() === 4 && res.html("#crew td").first().text() === "Ahab",
    "table rows": () => doc.find("#crew tr").slice(1).map((i, tr) => tr.find("td").first().text()).join() === "Ahab,Starbuck,Queequeg",
    "data attributes": () => {
      const lis = doc.find("#chapters li");
      const third = lis.eq(2).data();
      return lis.first().data("chapter") === 1 && lis.eq(1).data("title") === "The Carpet-Bag" &&
        lis.eq(1).data("tags")[1] === "inn" && third.longName === "yes" && third.price === "101.00" && third.on === true;
    },
    "entities decoded": () => doc.find(".intro").text() === "Call me Ishmael. Some years ago\u2014never mind how long.",
    "comments are nodes": () => doc.find("#notes").contents().size() === 4 && doc.find("#notes").contents().first().get(0).nodeType() === 8,
    "lang": () => doc.find("html").get(0).lang() === "en",
    "anchor elements resolve href": () => {
      const a = doc.find("#abs").get(0);
      return a.href() === `${base()}/anything/clicked?x=1` && a.toString() === a.href() && a.target() === "" &&
        a.referrerPolicy() === "" && doc.find("#chapters").get(0).start() === 0 && doc.find("#chapters").get(0).type() === "1" &&
        doc.find("#crew td").get(0).colSpan() === 1;
    },
    "anchor URL parts": () => {
      const a = doc.find("#abs").get(0);
      const hostPort = base().replace(/^http:\/\//, "");
      return a.protocol() === "http" && a.host() === hostPort && a.hostname() === "127.0.0.1" &&
        a.port() === hostPort.split(":")[1] && a.pathname() === "/anything/clicked" && a.search() === "?x=1" &&
        a.hash() === "" && a.origin() === base() && a.text() === "absolute" && a.username() === "";
    },
    "table elements": () => {
      const t = doc.find("#crew").get(0);
      const rows = t.rows();
      return rows.length === 4 && rows[2].rowIndex() === 2 && rows[2].cells()[1].textContent() === "First mate" &&
        rows[2].cells()[1].cellIndex() === 1 && t.tBodies().length === 1 && t.caption() === undefined &&
        rows[1].sectionRowIndex() === 1 && doc.find("title").get(0).text() === "loadrun test page";
    },
  });
  const rel = res.clickLink({ selector: "#rel" });
  const abs = res.clickLink({ selector: "a#abs", params: { tags: { name: "clicked" } } });
  const first = res.clickLink();
  const up = res.clickLink({ selector: "#up" });
  check(rel, {
    "clickLink resolves a relative href": (r) => r.status === 200 && r.json("args.from") === "link",
    "clickLink with params": () => abs.status === 200 && abs.json("url").endsWith("/anything/clicked?x=1"),
    "clickLink defaults to the first a[href]": () => first.json("args.from") === "link",
    "clickLink resolves ..": () => up.status === 204,
  });
  let missing = "";
  try {
    res.clickLink({ selector: "a#nothing" });
  } catch (e) {
    missing = String(e);
  }
  let noHref = "";
  try {
    res.clickLink({ selector: "li.empty a" });
  } catch (e) {
    noHref = String(e);
  }
  let nullBody = "";
  try {
    http.get(`${base()}/html`, { responseType: "none" }).html();
  } catch (e) {
    nullBody = String(e);
  }
  check(null, {
    "html() of a null body throws": () => nullBody.includes("the body is null so we can't transform it to HTML"),
    "clickLink without a match throws": () => missing.includes("no element found for selector 'a#nothing'"),
    "clickLink without href throws": () => noHref.includes("no valid href attribute value found"),
  });
}

function forms() {
  const res = http.get(`${base()}/forms/post`);
  const form = res.html("#order");
  const values = form.serializeObject();
  check(form, {
    "serializeObject": () =>
      values.custname === "Ishmael" && values.custtel === "" && values.size === "medium" && values.topping === "bacon" &&
      values.cheese === "on" && values.onion === undefined && values.crust === "Thick" &&
      values.sauces.join() === "tomato,garlic" && values.comments === "Ring twice &amp; wait" &&
      values.token === "a1b2c3" && values.locked === undefined && values.upload === undefined && values.action === undefined,
    "serializeArray": () => form.serializeArray().map((f) => f.name).join() === "custname,custtel,custemail,size,topping,cheese,delivery,crust,sauces,comments,token",
    "serialize": () => res.html("#search").serialize() === "lang=en&q=white+whale",
    "form element types": () => {
      const f = form.get(0);
      const time = form.find("input[name=delivery]").get(0);
      return f.action() === `${base()}/post` && f.enctype() === "application/x-www-form-urlencoded" && !f.noValidate() &&
        time.type() === "time" && time.min() === "11:00" && time.maxLength() === -1 && !time.disabled() &&
        form.find("button").get(0).type() === "submit" && form.find("[name=locked]").get(0).disabled() &&
        parseHTML("<a href='x/y'>l</a>").find("a").get(0).href() === "x/y";
    },
    "form, select and option elements": () => {
      const f = form.get(0);
      const crust = form.find("select[name=crust]").get(0);
      const sauces = form.find("select[name=sauces]").get(0);
      const thick = crust.options()[1];
      const tel = form.find("input[name=custtel]").get(0);
      return f.method() === "post" && f.elements().length === 19 && f.length() === 19 &&
        crust.selectedIndex() === 1 && crust.value() === "Thick" && crust.type() === "select" && crust.length() === 2 &&
        sauces.type() === "select-multiple" && sauces.selectedOptions().length === 2 && sauces.size() === 4 &&
        thick.text() === "Thick" && thick.value() === "Thick" && thick.index() === 1 && !thick.disabled() &&
        thick.form().id() === "order" && tel.form().id() === "order" && tel.formMethod() === "post" &&
        tel.formAction() === `${base()}/post` && tel.labels().length === 1 && tel.name() === "custtel" &&
        form.find("button").get(0).value() === "order" && res.html("#search").get(0).method() === "get";
    },
    "val of each kind": () =>
      form.find("select[name=crust]").val() === "Thick" && form.find("textarea").val() === "Ring twice &amp; wait" &&
      form.find("button").val() === "order" && form.find("input[name=cheese]").val() === "on",
  });
  const posted = res.submitForm({ formSelector: "#order", fields: { custtel: "555-0100" } });
  const searched = res.submitForm({ formSelector: "#search", params: { tags: { form: "search" } } });
  check(posted, {
    "submitForm posts the form": (r) =>
      r.status === 200 && r.request.method === "POST" && r.json("form.custname") === "Ishmael" &&
      r.json("form.custtel") === "555-0100" && r.json("form.action") === "order" && r.json("form.size") === "medium",
    "submitForm GET sends the fields as the query": () =>
      searched.status === 200 && searched.request.method === "GET" && searched.json("args.q") === "white whale" &&
      searched.json("args.go") === "Search!" && searched.json("args.old") === undefined,
  });
  let missing = "";
  try {
    res.submitForm({ formSelector: "#nothing" });
  } catch (e) {
    missing = String(e);
  }
  check(null, { "submitForm without a form throws": () => missing.includes("no form found for selector '#nothing'") });
}

function gjson() {
  const res = http.get(`${base()}/json`);
  const posted = http.post(`${base()}/post`, JSON.stringify({ "a.b": { c: [3, 1, 2] }, list: [{ k: "x", n: 1 }, { k: "y", n: 5 }, { k: "x", n: 9 }] }), {
    headers: { "Content-Type": "application/json" },
  });
  check(res, {
    "json: dotted path and index": (r) => r.json("slideshow.slides.1.items.0") === "Why WonderWidgets are great",
    "json: # is a length": (r) => r.json("slideshow.slides.#") === 2,
    "json: #.key maps": (r) => r.json("slideshow.slides.#.title").join("|") === "Wake up to WonderWidgets!|Overview",
    "json: a query": (r) => r.json('slideshow.slides.#(title=="Overview").items.1') === "Who buys WonderWidgets",
    "json: wildcards": (r) => r.json("slideshow.auth*") === "Yours Truly" && r.json("slideshow.tit?e") === "Sample Slide Show",
    "json: missing is undefined": (r) => r.json("slideshow.nothing") === undefined && r.json("slideshow.slides.7") === undefined,
    "json: objects come whole": (r) => r.json("slideshow.slides.0").type === "all",
    "json: escaped dot": () => posted.json("json.a\\.b.c.2") === 2,
    "json: query all and numbers": () => posted.json('json.list.#(k=="x")#.n').join() === "1,9" && posted.json("json.list.#(n>4)#.k").join() === "y,x",
    "json: @reverse": () => posted.json("json.a\\.b.c|@reverse").join() === "2,1,3",
    "json: no selector parses all": () => posted.json().json.list.length === 3,
    "json: a selector reads a binary body": () =>
      http.get(`${base()}/json`, { responseType: "binary" }).json("slideshow.slides.#") === 2,
  });
}

export default function () {
  group("selection", selections);
  group("element", elements);
  group("page", page);
  group("forms", forms);
  group("gjson", gjson);
}
