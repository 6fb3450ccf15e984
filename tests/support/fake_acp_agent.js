#!/usr/bin/env node
// A fake Agent Client Protocol agent for the tests: JSON-RPC 2.0 over stdio, one message per
// line, scripted by the JSON file named in ZEN_FAKE_ACP:
//   { "log": "<path: every message received, one JSON per line>",
//     "init": {"loadSession": bool, "authMethods": [...]},
//     "new": {"error": {...}} | {"models": {...}, "modes": {...}},
//     "commands": [{name, description}],           // available_commands_update after session/new
//     "replay": [update, ...],                      // sent during session/load
//     "turns": [[step, ...], ...] }                 // one list per session/prompt (the last repeats)
// Turns are counted in the log, across restarts of the agent. Steps: {"update": {...}}, {"text": "...", "pieces": n} (chunks of n characters, each line
// written in two halves), {"raw": "line"}, {"permission": params, "wait": bool},
// {"await_permissions": true}, {"read": params}, {"write": params}, {"sleep": ms},
// {"wait_cancel": true}, {"exit": code}, {"big": bytes}, {"stop": "end_turn"}.
"use strict";
const fs = require("fs");
const readline = require("readline");

const script = JSON.parse(fs.readFileSync(process.env.ZEN_FAKE_ACP, "utf8"));
const log = (m) => script.log && fs.appendFileSync(script.log, JSON.stringify(m) + "\n");
log({ started: process.pid, cwd: process.cwd(), openrouter_key: process.env.OPENROUTER_API_KEY || null });
let nextId = 1000;
const waiting = new Map(); // our request id → resolve
let cancelled = null; // resolve of a wait_cancel
let cancelSeen = false;
const sessionId = "fake-session-1";

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// A line written in two halves, a moment apart: the reader must join them.
async function writeSplit(obj) {
  const line = JSON.stringify(obj) + "\n";
  const cut = Math.max(1, Math.floor(line.length / 2));
  process.stdout.write(line.slice(0, cut));
  await sleep(5);
  process.stdout.write(line.slice(cut));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function update(u) {
  return { jsonrpc: "2.0", method: "session/update", params: { sessionId, update: u } };
}

function request(method, params) {
  const id = nextId++;
  write({ jsonrpc: "2.0", id, method, params });
  return new Promise((resolve) => waiting.set(id, resolve));
}

async function runTurn(id, steps) {
  const pending = [];
  let stop = "end_turn";
  for (const s of steps) {
    if (s.update) write(update(s.update));
    else if (s.text !== undefined) {
      const chars = Array.from(s.text);
      const n = s.pieces || 3;
      for (let i = 0; i < chars.length; i += n) {
        const text = chars.slice(i, i + n).join("");
        await writeSplit(update({ sessionUpdate: "agent_message_chunk", content: { type: "text", text } }));
      }
    } else if (s.raw !== undefined) process.stdout.write(s.raw + "\n");
    else if (s.permission) {
      const p = request("session/request_permission", Object.assign({ sessionId }, s.permission));
      if (s.wait === false) pending.push(p);
      else await p;
    } else if (s.await_permissions) await Promise.all(pending);
    else if (s.read) await request("fs/read_text_file", Object.assign({ sessionId }, s.read));
    else if (s.write) await request("fs/write_text_file", Object.assign({ sessionId }, s.write));
    else if (s.sleep) await sleep(s.sleep);
    else if (s.wait_cancel) {
      if (!cancelSeen) await new Promise((r) => (cancelled = r));
      stop = "cancelled";
      break;
    } else if (s.exit !== undefined) process.exit(s.exit);
    else if (s.big) {
      const line = "y".repeat(99) + "\n";
      write(update({ sessionUpdate: "agent_message_chunk", content: { type: "text", text: line.repeat(Math.ceil(s.big / 100)) } }));
    } else if (s.stop) stop = s.stop;
  }
  write({ jsonrpc: "2.0", id, result: { stopReason: stop } });
}

async function handle(msg) {
  log(msg);
  if (msg.id !== undefined && msg.method === undefined) {
    const resolve = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (resolve) resolve(msg);
    return;
  }
  const init = script.init || {};
  switch (msg.method) {
    case "initialize":
      write({
        jsonrpc: "2.0",
        id: msg.id,
        result: {
          protocolVersion: 1,
          agentCapabilities: { loadSession: !!init.loadSession },
          authMethods: init.authMethods || [],
        },
      });
      break;
    case "session/new": {
      const n = script.new || {};
      if (n.error) {
        write({ jsonrpc: "2.0", id: msg.id, error: n.error });
        break;
      }
      write({ jsonrpc: "2.0", id: msg.id, result: { sessionId, models: n.models, modes: n.modes } });
      if (script.commands) write(update({ sessionUpdate: "available_commands_update", availableCommands: script.commands }));
      break;
    }
    case "session/load":
      for (const u of script.replay || []) write(update(u));
      write({ jsonrpc: "2.0", id: msg.id, result: null });
      if (script.commands) write(update({ sessionUpdate: "available_commands_update", availableCommands: script.commands }));
      break;
    case "session/set_model":
    case "session/set_mode":
      write({ jsonrpc: "2.0", id: msg.id, result: {} });
      break;
    case "session/prompt": {
      // Counted in the log, so a restarted agent goes on with the next turn.
      const turns = script.turns || [[]];
      const seen = fs.readFileSync(script.log, "utf8").split("\n").filter((l) => l.includes('"session/prompt"')).length;
      const steps = turns[Math.min(seen - 1, turns.length - 1)];
      cancelSeen = false;
      runTurn(msg.id, steps);
      break;
    }
    case "session/cancel":
      cancelSeen = true;
      if (cancelled) {
        const r = cancelled;
        cancelled = null;
        r();
      }
      break;
    default:
      if (msg.id !== undefined) write({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "no " + msg.method } });
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line.trim()) handle(JSON.parse(line));
});
rl.on("close", () => process.exit(0));
