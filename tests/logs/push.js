// Pushes known lines through winston-loki (snappy-compressed protobuf,
// batched) and prints what was sent and the errors, as JSON.
//
// Usage: NODE_PATH=tests/logs/node_modules node push.js <host> <count>
const winston = require('winston')
const LokiTransport = require('winston-loki')

async function main () {
  const [host, countArg] = process.argv.slice(2)
  const count = Number(countArg)
  const errors = []
  const transport = new LokiTransport({
    host,
    labels: { app: 'nodeapp' },
    interval: 0.2,
    format: winston.format.printf(info => info.message),
    onConnectionError: err => errors.push(String(err))
  })
  const logger = winston.createLogger({ transports: [transport] })
  const sent = []
  for (let i = 0; i < count; i++) {
    const line = `node line ${i}`
    logger.info(line)
    sent.push(line)
  }
  await transport.flush()
  await transport.close()
  process.stdout.write(JSON.stringify({ sent, errors }))
}

main().catch(err => {
  process.stderr.write(String(err))
  process.exit(1)
})
