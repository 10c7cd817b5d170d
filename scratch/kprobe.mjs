import { Kafka, logLevel } from 'kafkajs'
const kafka = new Kafka({ brokers: ['127.0.0.1:19092'], clientId: 'probe', logLevel: logLevel.WARN })
const admin = kafka.admin(); await admin.connect()
console.log('created', await admin.createTopics({ topics: [{ topic: 'probe', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }))
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 })
await producer.connect()
const t0 = Date.now()
for (let i=0;i<20;i++) await producer.send({ topic: 'probe', acks: -1, messages: Array.from({length:100},(_, j)=>({ key: 'k'+(j%7), value: JSON.stringify({i,j}) })) })
console.log('sent 2000 in', Date.now()-t0)
const consumer = kafka.consumer({ groupId: 'g1' })
await consumer.connect(); await consumer.subscribe({ topic: 'probe', fromBeginning: true })
let n = 0
await new Promise((resolve) => { consumer.run({ eachBatchAutoResolve: false, autoCommit: false, eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
  n += batch.messages.length; for (const m of batch.messages) resolveOffset(m.offset); 
  await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset())+1n).toString() }])
  if (n >= 2000) resolve() } }) })
console.log('consumed', n, await admin.fetchOffsets({ groupId: 'g1', topics: ['probe'] }).then(r => JSON.stringify(r)))
await consumer.disconnect(); await producer.disconnect(); await admin.disconnect()
