// Renders the gateway's merged OpenAPI document (/openapi.json) and lets a reader try requests with a pasted token.
// Plain DOM, no libraries; text is always set with textContent, never parsed as HTML.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
let spec = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function resolve(node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 20) {
    if (!node.$ref.startsWith("#/")) return node;
    node = node.$ref.slice(2).split("/").reduce((o, k) => (o ? o[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), spec);
  }
  return node || {};
}

function refName(node) { return node && node.$ref ? node.$ref.split("/").pop() : null; }

function typeOf(s) {
  const t = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
  return t || (s.properties ? "object" : s.items ? "array" : s.oneOf ? "oneOf" : s.anyOf ? "anyOf" : "any");
}

// A schema as indented text: "name: type — description", nested objects and arrays expanded, cycles cut.
function schemaText(node, indent = "", stack = []) {
  const name = refName(node);
  if (name && stack.includes(name)) return `${name} (recursive)`;
  const s = resolve(node);
  const next = name ? [...stack, name] : stack;
  const alts = s.oneOf || s.anyOf;
  if (alts) return alts.map(a => schemaText(a, indent, next)).join(" | ");
  if (s.allOf) return s.allOf.map(a => schemaText(a, indent, next)).join(" & ");
  const type = typeOf(s);
  if (s.properties) {
    const req = new Set(s.required || []);
    const lines = Object.entries(s.properties).map(([k, v]) => {
      const rv = resolve(v);
      let line = `${indent}  ${k}${req.has(k) ? "" : "?"}: ${schemaText(v, indent + "  ", next)}`;
      const notes = [];
      if (rv.enum) notes.push("one of " + rv.enum.map(x => JSON.stringify(x)).join(", "));
      if (rv.description) notes.push(rv.description);
      if (notes.length) line += "  — " + notes.join("; ");
      return line;
    });
    return `${name ? name + " " : ""}{\n${lines.join("\n")}\n${indent}}`;
  }
  if (type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) return `${schemaText(s.items || {}, indent, next)}[]`;
  if (s.additionalProperties && typeof s.additionalProperties === "object") return `{ [key]: ${schemaText(s.additionalProperties, indent, next)} }`;
  let text = type + (s.format ? ` (${s.format})` : "");
  if (s.enum && !indent) text += " one of " + s.enum.map(x => JSON.stringify(x)).join(", ");
  return text;
}

// An example value built from a schema, to prefill request bodies.
function example(node, stack = []) {
  const name = refName(node);
  if (name && stack.includes(name)) return null;
  const s = resolve(node);
  const next = name ? [...stack, name] : stack;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.oneOf || s.anyOf) return example((s.oneOf || s.anyOf)[0], next);
  const types = Array.isArray(s.type) ? s.type.filter(t => t !== "null") : [s.type];
  const t = types[0] || (s.properties ? "object" : undefined);
  if (t === "object" || s.properties) {
    const o = {};
    for (const [k, v] of Object.entries(s.properties || {})) if (!s.required || s.required.includes(k) || Object.keys(s.properties).length <= 4) o[k] = example(v, next);
    return o;
  }
  if (t === "array") return [];
  if (t === "integer" || t === "number") return 0;
  if (t === "boolean") return false;
  if (t === "string") return "";
  return null;
}

function tokenHeader() {
  const t = document.getElementById("token").value.trim();
  return t ? { Authorization: "Bearer " + t } : {};
}

function renderOperation(path, method, op, pathParams) {
  const params = [...(pathParams || []), ...(op.parameters || [])].map(resolve);
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  const body = el("div", { class: "body" });
  if (op.description) body.append(el("p", {}, op.description));

  if (params.length) {
    body.append(el("h4", {}, "Parameters"),
      el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")),
        params.map(p => el("tr", {}, el("td", {}, el("code", {}, p.name + (p.required ? "" : "?"))), el("td", {}, p.in),
          el("td", {}, el("code", {}, schemaText(p.schema || {}))), el("td", {}, p.description || "")))));
  }

  const reqBody = op.requestBody ? resolve(op.requestBody) : null;
  const contentTypes = reqBody && reqBody.content ? Object.keys(reqBody.content) : [];
  if (reqBody) {
    body.append(el("h4", {}, "Request body" + (reqBody.required ? "" : " (optional)")));
    for (const ct of contentTypes) body.append(el("div", {}, el("code", {}, ct)), el("div", { class: "schema" }, schemaText(reqBody.content[ct].schema || {})));
  }

  body.append(el("h4", {}, "Responses"));
  const rows = Object.entries(op.responses || {}).map(([status, r]) => {
    r = resolve(r);
    const content = r.content || {};
    const first = Object.keys(content)[0];
    return el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, r.description || ""),
      el("td", {}, first ? el("div", {}, el("code", {}, first), el("div", { class: "schema" }, schemaText(content[first].schema || {}))) : ""));
  });
  body.append(el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "description"), el("th", {}, "body")), rows));
  body.append(tryForm(path, method, params, reqBody, contentTypes));

  return el("details", { class: "op", "data-search": `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase() },
    el("summary", {}, el("span", { class: "method " + (METHODS.includes(method) ? method : "other") }, method),
      el("span", { class: "path" }, path), el("span", { class: "summary" }, op.summary || ""),
      el("span", { class: "lock" }, isPublic ? "public" : "bearer token")),
    body);
}

function tryForm(path, method, params, reqBody, contentTypes) {
  const form = el("form", { class: "try" });
  const inputs = params.filter(p => ["path", "query", "header"].includes(p.in)).map(p => {
    const input = el("input", { type: "text", name: p.name, placeholder: p.required ? "required" : "optional" });
    form.append(el("label", {}, `${p.name} (${p.in})`, input));
    return { p, input };
  });
  let ctSelect = null, bodyArea = null, fileInput = null;
  if (reqBody && contentTypes.length) {
    ctSelect = el("select", {}, contentTypes.map(ct => el("option", { value: ct }, ct)));
    bodyArea = el("textarea", { spellcheck: "false" });
    fileInput = el("input", { type: "file" });
    const fileLabel = el("label", {}, "file", fileInput);
    const sync = () => {
      const ct = ctSelect.value || contentTypes[0];
      const schema = reqBody.content[ct].schema || {};
      const multipart = ct.startsWith("multipart/");
      fileLabel.classList.toggle("hidden", !multipart);
      const ex = example(schema);
      if (multipart && ex && typeof ex === "object") for (const k of Object.keys(ex)) if (resolve(resolve(schema).properties[k]).format === "binary") delete ex[k];
      bodyArea.value = ex === null || ex === undefined ? "" : JSON.stringify(ex, null, 2);
    };
    ctSelect.addEventListener("change", sync);
    form.append(el("label", {}, "content type", ctSelect), el("label", {}, "body (JSON; for multipart: the text fields as a JSON object)", bodyArea), fileLabel);
    sync();
  }
  const out = el("div", {});
  form.append(el("button", { type: "submit" }, "Send"), out);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    out.replaceChildren(el("p", {}, "Sending…"));
    let url = path;
    const query = new URLSearchParams();
    const headers = { ...tokenHeader() };
    const missing = inputs.filter(({ p, input }) => p.in === "path" && input.value === "").map(({ p }) => p.name);
    if (missing.length) { out.replaceChildren(el("p", { class: "err" }, "Fill in " + missing.join(", "))); return; }
    for (const { p, input } of inputs) {
      const v = input.value;
      if (v === "" && !p.required) continue;
      if (p.in === "path") url = url.replace(`{${p.name}}`, encodeURIComponent(v));
      else if (p.in === "query") query.append(p.name, v);
      else headers[p.name] = v;
    }
    if ([...query].length) url += "?" + query.toString();
    const init = { method: method.toUpperCase(), headers };
    if (ctSelect) {
      const ct = ctSelect.value || contentTypes[0];
      if (ct.startsWith("multipart/")) {
        const fd = new FormData();
        try { for (const [k, v] of Object.entries(bodyArea.value.trim() ? JSON.parse(bodyArea.value) : {})) if (v !== null && v !== "") fd.append(k, String(v)); }
        catch (e) { out.replaceChildren(el("p", { class: "err" }, "The fields are not a JSON object: " + e.message)); return; }
        if (fileInput.files[0]) fd.append("file", fileInput.files[0]);
        init.body = fd;
      } else if (bodyArea.value.trim() !== "") {
        headers["Content-Type"] = ct;
        init.body = bodyArea.value;
      }
    }
    try {
      const started = performance.now();
      const res = await fetch(url, init);
      const ms = Math.round(performance.now() - started);
      const type = res.headers.get("content-type") || "";
      const shown = [];
      if (type.includes("json")) {
        const text = await res.text();
        let pretty = text;
        try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* shown as received */ }
        shown.push(el("pre", {}, pretty));
      } else if (type.startsWith("text/")) {
        shown.push(el("pre", {}, await res.text()));
      } else {
        const blob = await res.blob();
        const name = (/filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "") || [])[1] || "download";
        shown.push(el("p", {}, `${blob.size} bytes of ${type || "unknown type"} `, el("a", { href: URL.createObjectURL(blob), download: name }, "save " + name)));
      }
      const headerText = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
      out.replaceChildren(el("p", {}, el("span", { class: "status " + (res.ok ? "ok" : "err") }, `${res.status} ${res.statusText}`), ` in ${ms} ms — `, el("code", {}, `${init.method} ${url}`)),
        el("details", {}, el("summary", {}, "response headers"), el("pre", {}, headerText)), shown);
    } catch (e) {
      out.replaceChildren(el("p", { class: "err" }, "Request failed: " + e.message));
    }
  });
  return form;
}

function render() {
  document.getElementById("title").textContent = spec.info?.title || "API";
  document.title = spec.info?.title || "API";
  document.getElementById("description").textContent = spec.info?.description || "";
  const missing = (spec["x-agents-services"] || []).filter(s => !s.available);
  const services = document.getElementById("services");
  services.className = missing.length ? "warn" : "";
  services.textContent = missing.length ? "Missing from this document: " + missing.map(s => s.error || s.name).join("; ") : "";

  const groups = new Map();
  for (const t of spec.tags || []) groups.set(t.name, { description: t.description, ops: [] });
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, { ops: [] });
      groups.get(tag).ops.push(renderOperation(path, method, op, item.parameters));
    }
  }
  const content = document.getElementById("content");
  content.replaceChildren();
  for (const [tag, g] of groups) {
    if (!g.ops.length) continue;
    content.append(el("section", { class: "group" }, el("h2", {}, tag), g.description ? el("p", { class: "summary" }, g.description) : null, g.ops));
  }
}

function applyFilter() {
  const q = document.getElementById("filter").value.trim().toLowerCase();
  for (const op of document.querySelectorAll("details.op")) op.classList.toggle("hidden", q !== "" && !op.dataset.search.includes(q));
  for (const g of document.querySelectorAll("section.group")) g.classList.toggle("hidden", !g.querySelector("details.op:not(.hidden)"));
}

async function main() {
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("agents-docs-token") || "";
  token.addEventListener("input", () => sessionStorage.setItem("agents-docs-token", token.value));
  document.getElementById("filter").addEventListener("input", applyFilter);
  try {
    const res = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    spec = await res.json();
    render();
  } catch (e) {
    document.getElementById("content").replaceChildren(el("p", { class: "err" }, "Could not load /openapi.json: " + e.message));
  }
}

main();
