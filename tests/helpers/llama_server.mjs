// llama_server.mjs: a real inference engine for the tests, on 127.0.0.1
// only: node-llama-cpp (llama.cpp) over a GGUF model, behind the two
// shapes wf-agent speaks.
//
//   node llama_server.mjs --model FILE.gguf --modules DIR
//        [--port N] [--portfile FILE] [--log FILE] [--max-tokens N]
//        [--context N]
//
// --modules DIR is where `npm install node-llama-cpp` was run (it holds
// node_modules/node-llama-cpp; tests/helpers/engine.sh makes it).
//
// Speaks
//   POST /v1/chat/completions, /engines/v1/chat/completions  OpenAI shape,
//        with usage.prompt_tokens and usage.completion_tokens
//   POST /api/chat   Ollama shape ("stream": false only), with
//        prompt_eval_count and eval_count
//   GET  /v1/models, /api/tags    a one-model list
// and writes the port it got to FILE (whole, by rename) once it listens
// (or prints it when there is no --portfile).
//
// The counts are the engine's own: prompt_tokens is the number of tokens
// the model's tokenizer made of the prompt (with BOS when the model wants
// one) and evaluated, completion_tokens the number of tokens it generated
// (an end-of-generation token ends the reply and is not counted).  The
// prompt is the messages' contents, one per line.  Sampling is greedy
// (temperature 0), so a prompt always gets the same reply; a reply is at
// most --max-tokens tokens (default 32), less when the request asks for
// less (max_tokens, Ollama's options.num_predict).  The model is named by
// its file's name without .gguf.  Requests are served one at a time.
//
// --log FILE appends one JSON line per answered request: path, shape,
// status, model, prompt_tokens, completion_tokens, finish_reason, content,
// ms.  SIGTERM or SIGINT ends it.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

function usage(msg) {
	process.stderr.write(`llama_server: ${msg}\n` +
	    "usage: node llama_server.mjs --model FILE.gguf --modules DIR " +
	    "[--port N] [--portfile FILE] [--log FILE] [--max-tokens N] " +
	    "[--context N]\n");
	process.exit(64);
}

const opts = { port: 0, maxTokens: 32, context: 512 };
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		const v = a[i + 1];
		switch (a[i]) {
		case "--model": opts.model = v; i++; break;
		case "--modules": opts.modules = v; i++; break;
		case "--port": opts.port = Number(v); i++; break;
		case "--portfile": opts.portfile = v; i++; break;
		case "--log": opts.log = v; i++; break;
		case "--max-tokens": opts.maxTokens = Number(v); i++; break;
		case "--context": opts.context = Number(v); i++; break;
		default: usage(`unknown argument '${a[i]}'`);
		}
	}
	if (!opts.model) usage("--model is needed");
	if (!opts.modules) usage("--modules is needed");
	if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
		usage("--port: not a port");
	if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1)
		usage("--max-tokens: not a positive integer");
	if (!fs.existsSync(opts.model))
		usage(`${opts.model}: no such model file`);
}

// node-llama-cpp from the directory it was installed in (not this repo's).
let lib;
try {
	const req = createRequire(path.join(path.resolve(opts.modules),
	    "package.json"));
	lib = await import(pathToFileURL(req.resolve("node-llama-cpp")).href);
} catch (e) {
	usage(`cannot load node-llama-cpp from ${opts.modules}: ${e.message}`);
}

const t0 = Date.now();
const llama = await lib.getLlama({ gpu: false, build: "never",
    skipDownload: true, logLevel: "error", maxThreads: 1 });
const model = await llama.loadModel({ modelPath: opts.model });
const context = await model.createContext({ contextSize: opts.context,
    threads: 1, sequences: 1 });
const sequence = context.getSequence();
const MODEL_NAME = path.basename(opts.model).replace(/\.gguf$/, "");
const logf = opts.log ? fs.openSync(opts.log, "a") : null;
process.stderr.write(`llama_server: ${MODEL_NAME} loaded in ` +
    `${Date.now() - t0} ms (context ${context.contextSize})\n`);

function log(entry) {
	if (logf !== null)
		fs.writeSync(logf, JSON.stringify(entry) + "\n");
}

// One generation: the engine's own tokens in and out.
async function generate(messages, maxTokens) {
	const text = messages.map((m) => typeof m.content === "string" ?
	    m.content : "").join("\n");
	let tokens = model.tokenize(text);
	if (model.tokens.bos != null && model.tokens.shouldPrependBosToken)
		tokens = [model.tokens.bos, ...tokens];
	if (tokens.length + maxTokens > context.contextSize)
		throw Object.assign(new Error(`the prompt is ${tokens.length} ` +
		    `tokens: over the context of ${context.contextSize}`),
		    { status: 400 });
	await sequence.clearHistory();
	const out = [];
	let reason = "length";
	for await (const t of sequence.evaluate(tokens, { temperature: 0 })) {
		if (model.isEogToken(t)) {
			reason = "stop";
			break;
		}
		out.push(t);
		if (out.length >= maxTokens)
			break;
	}
	return { content: model.detokenize(out), promptTokens: tokens.length,
	    completionTokens: out.length, reason };
}

// Requests one at a time, as a local model serves them.
let queue = Promise.resolve();
function serial(fn) {
	const p = queue.then(fn, fn);
	queue = p.catch(() => {});
	return p;
}

function send(res, status, obj) {
	const data = Buffer.from(JSON.stringify(obj));
	res.writeHead(status, { "Content-Type": "application/json",
	    "Content-Length": data.length });
	res.end(data);
}

async function chat(req, res, body, shape) {
	const start = Date.now();
	const entry = { path: req.url, shape };
	let ask = shape === "openai" ? body.max_tokens :
	    body.options?.num_predict;
	if (!Number.isInteger(ask) || ask < 1 || ask > opts.maxTokens)
		ask = opts.maxTokens;
	try {
		if (!Array.isArray(body.messages) || body.messages.length === 0)
			throw Object.assign(new Error("messages: a non-empty " +
			    "array is needed"), { status: 400 });
		if (shape === "ollama" && body.stream !== false)
			throw Object.assign(new Error("\"stream\" must be false"),
			    { status: 400 });
		const g = await serial(() => generate(body.messages, ask));
		Object.assign(entry, { status: 200, model: MODEL_NAME,
		    prompt_tokens: g.promptTokens,
		    completion_tokens: g.completionTokens,
		    finish_reason: g.reason, content: g.content,
		    ms: Date.now() - start });
		if (shape === "openai")
			send(res, 200, {
				id: `chatcmpl-llama-${start}`,
				object: "chat.completion",
				created: Math.floor(start / 1000),
				model: MODEL_NAME,
				choices: [{ index: 0, message: { role: "assistant",
				    content: g.content }, finish_reason: g.reason }],
				usage: { prompt_tokens: g.promptTokens,
				    completion_tokens: g.completionTokens,
				    total_tokens: g.promptTokens +
				    g.completionTokens },
			});
		else
			send(res, 200, {
				model: MODEL_NAME,
				created_at: new Date(start).toISOString(),
				message: { role: "assistant", content: g.content },
				done: true,
				done_reason: g.reason,
				total_duration: (Date.now() - start) * 1e6,
				prompt_eval_count: g.promptTokens,
				eval_count: g.completionTokens,
			});
	} catch (e) {
		const status = e.status || 500;
		Object.assign(entry, { status, error: e.message,
		    ms: Date.now() - start });
		send(res, status, shape === "openai" ?
		    { error: { message: e.message, type: "llama_server" } } :
		    { error: e.message });
	}
	log(entry);
}

const server = http.createServer((req, res) => {
	const chunks = [];
	let size = 0;
	req.on("data", (c) => {
		size += c.length;
		if (size <= (8 << 20))
			chunks.push(c);
	});
	req.on("end", () => {
		if (req.method === "GET") {
			if (req.url === "/v1/models" || req.url === "/engines/v1/models")
				send(res, 200, { object: "list", data: [{ id: MODEL_NAME,
				    object: "model", owned_by: "llama_server" }] });
			else if (req.url === "/api/tags")
				send(res, 200, { models: [{ name: MODEL_NAME,
				    model: MODEL_NAME }] });
			else
				send(res, 404, { error: "no such endpoint" });
			return;
		}
		let shape;
		if (req.method === "POST" && (req.url === "/v1/chat/completions" ||
		    req.url === "/engines/v1/chat/completions"))
			shape = "openai";
		else if (req.method === "POST" && req.url === "/api/chat")
			shape = "ollama";
		else {
			send(res, 404, { error: "no such endpoint" });
			return;
		}
		let body;
		try {
			if (size > (8 << 20))
				throw new Error("too large");
			body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
			if (body === null || typeof body !== "object")
				throw new Error("not an object");
		} catch (e) {
			send(res, 400, { error: `the body is not a JSON object: ` +
			    `${e.message}` });
			log({ path: req.url, shape, status: 400, error: e.message });
			return;
		}
		chat(req, res, body, shape);
	});
});

function stop() {
	process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

server.listen(opts.port, "127.0.0.1", () => {
	const port = server.address().port;
	if (opts.portfile) {
		fs.writeFileSync(opts.portfile + ".tmp", `${port}\n`);
		fs.renameSync(opts.portfile + ".tmp", opts.portfile);
	} else
		process.stdout.write(`${port}\n`);
});
