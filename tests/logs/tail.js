// Tails a LogQL query over WebSocket with Node's own client (undici's
// WHATWG WebSocket, enabled by `--experimental-websocket`). Prints
// `history <n>` once the first message (the history) has come; when
// `want` entries have come in all, or after `timeout` seconds, closes
// with 1000 and prints every message, the close code the server answered
// and any error, as one line of JSON.
//
// Usage: node --experimental-websocket tail.js <ws url> <want> <timeout s>
const [url, wantArg, timeoutArg] = process.argv.slice(2)
const want = Number(wantArg)
const messages = []
let entries = 0
let error = null
let why = 'done'

const count = m => (m.streams || []).reduce((n, s) => n + s.values.length, 0)
const ws = new WebSocket(url)
ws.onmessage = ev => {
  const m = JSON.parse(ev.data)
  messages.push(m)
  if (messages.length === 1) process.stdout.write(`history ${count(m)}\n`)
  entries += count(m)
  if (entries >= want) ws.close(1000, 'done')
}
ws.onerror = ev => { error = String(ev.message || ev.type) }
ws.onclose = ev => {
  process.stdout.write(JSON.stringify({ messages, code: ev.code, why, error }) + '\n')
  process.exit(0)
}
setTimeout(() => { why = 'timeout'; ws.close(1000, 'timeout') }, Number(timeoutArg) * 1000)
