# A minimal ACP agent for the benchmark: answers initialize and session/new, and streams
# ZEN_FLOOD_BYTES (default 1 MB) of prose as agent_message_chunk updates of ZEN_FLOOD_CHUNK bytes
# (default 200) to each session/prompt, as fast as its stdout takes them, then ends the turn.
import json
import os
import sys

TOTAL = int(os.environ.get("ZEN_FLOOD_BYTES", 1 << 20))
CHUNK = int(os.environ.get("ZEN_FLOOD_CHUNK", 200))
WORDS = "the quick brown fox jumps over the lazy dog while the agent writes on ".split()


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")


def prose(n):
    out, i = [], 0
    size = 0
    while size < n:
        w = WORDS[i % len(WORDS)] + ("\n" if i % 16 == 15 else " ")
        out.append(w)
        size += len(w)
        i += 1
    return "".join(out)[:n]


for line in sys.stdin:
    msg = json.loads(line)
    method, rid = msg.get("method"), msg.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {"protocolVersion": 1, "agentCapabilities": {}, "authMethods": []}})
    elif method == "session/new":
        send({"jsonrpc": "2.0", "id": rid, "result": {"sessionId": "flood"}})
    elif method == "session/prompt":
        text = prose(TOTAL)
        for at in range(0, len(text), CHUNK):
            send({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "flood", "update": {
                "sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text[at:at + CHUNK]}}}})
        send({"jsonrpc": "2.0", "id": rid, "result": {"stopReason": "end_turn"}})
    elif rid is not None and method is not None:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "not here"}})
    sys.stdout.flush()
