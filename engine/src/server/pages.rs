//! The HTML pages of the test server, for scripts that read HTML (k6's `parseHTML`,
//! `Response.html()`, `submitForm`, `clickLink`): `/html` and `/forms/post`, as httpbin has.

use super::routes::Response;

/// Links, lists, a table and `data-` attributes; its links are relative to `/html`.
const HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><title>loadrun test page</title><meta charset="utf-8"></head>
<body>
<h1 id="top" class="title main">Moby-Dick</h1>
<p class="intro">Call me <b>Ishmael</b>. Some years ago&mdash;never mind how long.</p>
<ul id="links">
  <li><a id="rel" href="get?from=link">relative</a></li>
  <li><a id="abs" href="/anything/clicked?x=1">absolute</a></li>
  <li><a id="up" href="../status/204">parent</a></li>
  <li class="empty"><a name="anchor">no href</a></li>
</ul>
<ol id="chapters">
  <li data-chapter="1" data-title="Loomings">Loomings</li>
  <li data-chapter="2" data-title="The Carpet-Bag" data-tags='["bag","inn"]'>The Carpet-Bag</li>
  <li data-chapter="3" data-long-name="yes" data-price="101.00" data-on="true">The Spouter-Inn</li>
</ol>
<table id="crew">
  <tr><th>Name</th><th>Role</th></tr>
  <tr><td>Ahab</td><td>Captain</td></tr>
  <tr><td>Starbuck</td><td>First mate</td></tr>
  <tr><td>Queequeg</td><td>Harpooneer</td></tr>
</table>
<div id="notes"><!-- a comment --><span>one</span> text <span>two</span></div>
</body>
</html>
"#;

/// Two forms: httpbin's pizza order (POST to `/post`) and a search (GET, relative action).
const FORMS: &str = r#"<!DOCTYPE html>
<html>
<head><title>Forms</title></head>
<body>
<form id="order" method="post" action="/post">
  <p><label>Customer name: <input name="custname" value="Ishmael"></label></p>
  <p><label>Telephone: <input type="tel" name="custtel"></label></p>
  <p><label>E-mail address: <input type="email" name="custemail" value="ishmael@pequod.example"></label></p>
  <fieldset>
    <legend> Pizza Size </legend>
    <p><label> <input type="radio" name="size" value="small"> Small </label></p>
    <p><label> <input type="radio" name="size" value="medium" checked="checked"> Medium </label></p>
    <p><label> <input type="radio" name="size" value="large"> Large </label></p>
  </fieldset>
  <fieldset>
    <legend> Pizza Toppings </legend>
    <p><label> <input type="checkbox" name="topping" value="bacon" checked="checked"> Bacon </label></p>
    <p><label> <input type="checkbox" name="cheese" checked="checked"> Extra Cheese </label></p>
    <p><label> <input type="checkbox" name="onion" value="onion"> Onion </label></p>
  </fieldset>
  <p><label>Preferred delivery time: <input type="time" min="11:00" max="21:00" step="900" name="delivery" value="19:30"></label></p>
  <p><label>Crust: <select name="crust"><option value="thin">Thin</option><option selected>Thick</option></select></label></p>
  <p><label>Sauces: <select name="sauces" multiple><option value="tomato" selected>Tomato</option><option value="bbq">BBQ</option><option value="garlic" selected>Garlic</option></select></label></p>
  <p><label>Delivery instructions: <textarea name="comments">Ring twice &amp; wait</textarea></label></p>
  <input type="hidden" name="token" value="a1b2c3">
  <input name="locked" value="no" disabled="disabled">
  <input type="file" name="upload">
  <p><button type="submit" name="action" value="order">Submit order</button></p>
</form>
<form id="search" action="../anything/search?old=1">
  <input name="q" value="white whale">
  <input name="lang" value="en">
  <input type="submit" name="go" value="Search!">
</form>
</body>
</html>
"#;

fn page(body: &str) -> Response {
    let mut r = Response::text(200, body);
    r.headers = vec![("Content-Type".into(), "text/html; charset=utf-8".into())];
    r
}

pub fn html() -> Response {
    page(HTML)
}

pub fn forms() -> Response {
    page(FORMS)
}
