// The Sluice console: plain DOM code on top of the JavaScript client.
import { Sluice, SluiceError } from "./client/index.js";

/** maxRows bounds the message table; the oldest rows go first. */
const maxRows = 5000;
/** maxLogLines bounds the event log. */
const maxLogLines = 200;

const $ = (id) => document.getElementById(id);
const ui = {
  state: $("state"),
  connectForm: $("connect-form"),
  url: $("url"),
  token: $("token"),
  connect: $("connect"),
  subscribeForm: $("subscribe-form"),
  topic: $("topic"),
  from: $("from"),
  keyFilter: $("key-filter"),
  subscribe: $("subscribe"),
  subscriptions: $("subscriptions"),
  publishForm: $("publish-form"),
  pubTopic: $("pub-topic"),
  pubKey: $("pub-key"),
  pubValue: $("pub-value"),
  pubErrors: $("pub-errors"),
  publish: $("publish"),
  pubResult: $("pub-result"),
  messages: $("messages"),
  count: $("count"),
  empty: $("empty"),
  clear: $("clear"),
  log: $("log"),
};

/** @type {Sluice | null} */
let client = null;
/** topic → Subscription */
const subs = new Map();
let received = 0;

ui.url.value = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`;

function log(text, kind = "") {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (kind) li.className = kind;
  ui.log.prepend(li);
  while (ui.log.children.length > maxLogLines) ui.log.lastElementChild.remove();
}

function setState(state, detail = {}) {
  const labels = {
    connecting: "connecting",
    open: "connected",
    reconnecting: "reconnecting",
    closed: "not connected",
  };
  ui.state.textContent = labels[state] ?? state;
  ui.state.className = `state state-${state}`;
  ui.state.dataset.state = state;
  const open = state === "open";
  ui.subscribe.disabled = client === null;
  ui.publish.disabled = client === null;
  ui.connect.textContent = client === null ? "Connect" : "Disconnect";
  if (state === "reconnecting") {
    const why = detail.code ? ` after close ${detail.code}${detail.reason ? ` (${detail.reason})` : ""}` : "";
    log(`reconnecting in ${detail.delayMs} ms${why}`, "bad");
  } else if (open) {
    log(`connected to ${client?.url}`, "ok");
  }
}

ui.connectForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (client) {
    disconnect();
    return;
  }
  const token = ui.token.value.trim();
  try {
    client = new Sluice(ui.url.value.trim(), token ? { token } : {});
  } catch (err) {
    log(String(err), "bad");
    return;
  }
  client.on("state", setState);
  client.on("error", (err) => log(`${err.code}: ${err.message}`, "bad"));
  setState(client.state);
});

function disconnect() {
  const c = client;
  client = null;
  subs.clear();
  ui.subscriptions.replaceChildren();
  c?.close();
  setState("closed");
}

// --- subscriptions ---------------------------------------------------------

ui.subscribeForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!client) return;
  const topic = ui.topic.value.trim();
  if (!topic) return;
  if (subs.has(topic)) {
    log(`already subscribed to ${topic}`, "bad");
    return;
  }
  const opts = {};
  const from = ui.from.value;
  opts.from = from === "last100" ? { last: 100 } : from;
  const key = ui.keyFilter.value.trim();
  if (key) opts.key = key;
  const chip = document.createElement("li");
  chip.dataset.topic = topic;
  chip.append(document.createTextNode(key ? `${topic} [key ${key}]` : topic));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary";
  remove.title = `Unsubscribe from ${topic}`;
  remove.textContent = "×";
  chip.append(remove);
  opts.onError = (err) => {
    chip.classList.add("failed");
    chip.title = `${err.code}: ${err.message}`;
    subs.delete(topic);
    log(`subscription ${topic} ended: ${err.code}: ${err.message}`, "bad");
  };
  let sub;
  try {
    sub = client.subscribe(topic, opts, addMessage);
  } catch (err) {
    log(`${err.code ?? "error"}: ${err.message}`, "bad");
    return;
  }
  subs.set(topic, sub);
  remove.addEventListener("click", () => {
    sub.unsubscribe();
    if (subs.get(topic) === sub) subs.delete(topic);
    chip.remove();
    log(`unsubscribed from ${topic}`);
  });
  ui.subscriptions.append(chip);
  sub.ready.then(() => {
    chip.dataset.ready = "true";
    log(`subscribed to ${topic} from ${JSON.stringify(opts.from)}`, "ok");
  }, () => {});
});

function formatValue(msg) {
  const pre = document.createElement("pre");
  if ("value" in msg) {
    if (msg.value === null) {
      pre.className = "muted";
      pre.textContent = "null (tombstone)";
    } else {
      pre.textContent = JSON.stringify(msg.value, null, 2);
    }
  } else if (msg.valueB64 !== undefined) {
    pre.className = "muted";
    pre.textContent = `bytes (base64) ${msg.valueB64}`;
  }
  return pre;
}

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function addMessage(msg) {
  const tr = document.createElement("tr");
  tr.className = "fresh";
  tr.dataset.topic = msg.topic;
  tr.dataset.partition = String(msg.partition);
  tr.dataset.offset = String(msg.offset);
  if (msg.key !== undefined) tr.dataset.key = msg.key;
  const when = new Date(msg.timestamp);
  const time = cell(when.toLocaleTimeString(undefined, { hour12: false }) + "." + String(when.getMilliseconds()).padStart(3, "0"), "time");
  time.title = when.toISOString();
  const key = msg.key ?? (msg.keyB64 !== undefined ? `base64 ${msg.keyB64}` : "");
  const value = document.createElement("td");
  value.className = "value";
  value.append(formatValue(msg));
  tr.append(cell(msg.topic, "topic"), cell(String(msg.partition), "num"), cell(String(msg.offset), "num"), cell(key, "key"), time, value);
  ui.messages.prepend(tr);
  while (ui.messages.children.length > maxRows) ui.messages.lastElementChild.remove();
  received++;
  ui.count.textContent = String(received);
  ui.empty.hidden = true;
}

ui.clear.addEventListener("click", () => {
  ui.messages.replaceChildren();
  received = 0;
  ui.count.textContent = "0";
  ui.empty.hidden = false;
});

// --- publishing -------------------------------------------------------------

function showErrors(items) {
  ui.pubErrors.replaceChildren();
  for (const { path, reason } of items) {
    const li = document.createElement("li");
    if (path) {
      const code = document.createElement("code");
      code.textContent = path;
      li.append(code, document.createTextNode(`: ${reason}`));
    } else {
      li.textContent = reason;
    }
    li.dataset.path = path ?? "";
    ui.pubErrors.append(li);
  }
  ui.pubErrors.hidden = items.length === 0;
}

function showResult(text, ok) {
  ui.pubResult.textContent = text;
  ui.pubResult.className = ok ? "ok" : "bad";
}

ui.pubValue.addEventListener("input", () => {
  ui.pubValue.removeAttribute("aria-invalid");
});

ui.publishForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!client) return;
  showErrors([]);
  showResult("", true);
  for (const k of ["code", "partition", "offset"]) delete ui.pubResult.dataset[k];
  ui.pubTopic.removeAttribute("aria-invalid");
  ui.pubValue.removeAttribute("aria-invalid");
  const topic = ui.pubTopic.value.trim();
  if (!topic) {
    ui.pubTopic.setAttribute("aria-invalid", "true");
    showResult("bad_request: give a topic", false);
    return;
  }
  let value;
  try {
    value = JSON.parse(ui.pubValue.value);
  } catch (err) {
    ui.pubValue.setAttribute("aria-invalid", "true");
    showErrors([{ path: "", reason: `the value is not valid JSON: ${err.message}` }]);
    showResult("bad_request: not published", false);
    return;
  }
  const key = ui.pubKey.value;
  ui.publish.disabled = true;
  try {
    const res = await client.publish(topic, value, key ? { key } : {});
    showResult(`published to ${res.topic} partition ${res.partition} offset ${res.offset}`, true);
    ui.pubResult.dataset.partition = String(res.partition);
    ui.pubResult.dataset.offset = String(res.offset);
  } catch (err) {
    const e = err instanceof SluiceError ? err : new SluiceError("internal", String(err));
    ui.pubResult.dataset.code = e.code;
    if (e.details?.length) {
      // A schema violation: one line per rejected field.
      ui.pubValue.setAttribute("aria-invalid", "true");
      showErrors(e.details);
      showResult(`${e.code}: not published`, false);
    } else if (e.code === "forbidden") {
      ui.pubTopic.setAttribute("aria-invalid", "true");
      showErrors([{ path: "", reason: e.message }]);
      showResult(`${e.code}: not published`, false);
    } else {
      showResult(`${e.code}: ${e.message}`, false);
    }
  } finally {
    ui.publish.disabled = client === null;
  }
});

setState("closed");
