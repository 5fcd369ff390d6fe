/**
 * What several replicas sharing one Redis must do, whatever the Redis (one server or a Cluster):
 * one `processed` per key however many copies race, and the same newest state on every replica.
 * Used by replicas.test.ts (standalone) and replicas-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { mulberry32 } from '../helpers/prng.js';
import { eventBody, runConcurrently, type Replica } from '../helpers/replicas.js';

/** The same event to every replica at once, `count` times with different ids: exactly `count` processed. */
export async function sameEventToAll(replicas: readonly Replica[], tag: string, count = 1000): Promise<{ processed: number; perReplica: number[] }> {
  const before = await Promise.all(replicas.map((r) => r.stats()));
  const perReplica = replicas.map(() => 0);
  const problems: string[] = [];
  let processed = 0;
  await runConcurrently(count, 12, async (i) => {
    const body = eventBody(`${tag}-${i}`, 1, { copy: 'same bytes everywhere' });
    const answers = await Promise.all(replicas.map((r) => r.post(body)));
    let first = 0;
    answers.forEach((a, k) => {
      if (a.status !== 200) problems.push(`${tag}-${i} on ${replicas[k]!.name}: ${a.status} ${a.body}`);
      if (a.json?.status === 'processed') {
        first++;
        perReplica[k]!++;
        assert.equal(a.json.state.interactionId, `${tag}-${i}`);
      }
    });
    if (first !== 1) problems.push(`${tag}-${i}: ${first} processed answers`);
    processed += first;
  });
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} problems`);
  assert.equal(processed, count);
  // Every replica counts what it answered: processed + deduplicated = what it received.
  const after = await Promise.all(replicas.map((r) => r.stats()));
  const delta = (k: 'eventsProcessed' | 'eventsDeduplicated') => after.reduce((sum, s, i) => sum + s[k] - before[i][k], 0);
  assert.equal(delta('eventsProcessed'), count);
  assert.equal(delta('eventsDeduplicated'), count * (replicas.length - 1));
  return { processed, perReplica };
}

/**
 * Updates of a few interactions, shuffled and spread over the replicas, all in flight together:
 * afterwards every replica's GET /state gives the newest; a late stale event changes nothing; a
 * tie (same instant, other bytes) goes to the later arrival, whichever replica it reached.
 */
export async function interleavedUpdates(replicas: readonly Replica[], tag: string, seed = 11): Promise<void> {
  const random = mulberry32(seed);
  const interactions = Array.from({ length: 8 }, (_, i) => `${tag}-${i}`);
  const sends: Array<{ id: string; second: number; replica: Replica }> = [];
  for (const id of interactions) for (let second = 0; second < 30; second++) sends.push({ id, second, replica: replicas[Math.floor(random() * replicas.length)]! });
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  const processed = new Map<string, number>();
  await runConcurrently(sends.length, 12, async (i) => {
    const { id, second, replica } = sends[i]!;
    const a = await replica.post(eventBody(id, second));
    assert.equal(a.status, 200, a.body);
    if (a.json.status === 'processed') processed.set(id, (processed.get(id) ?? 0) + 1);
  });
  // The key is the interaction: its first event (whichever) was processed, every other one not.
  assert.deepEqual([...processed.values()], interactions.map(() => 1));
  const states = async () => Promise.all(interactions.flatMap((id) => replicas.map(async (r) => [id, r.name, await r.state(id)] as const)));
  for (const [id, name, s] of await states()) {
    assert.equal(s.status, 200, `${id} on ${name}`);
    assert.equal(s.json.payload.second, 29, `${id} on ${name}: the newest state`);
  }
  // A late, older event (a retry CXone sent long ago) is a duplicate and never overwrites.
  for (const [k, id] of interactions.entries()) assert.equal((await replicas[k % replicas.length]!.post(eventBody(id, 3))).json.status, 'deduplicated');
  // A tie: the same instant with other content, arriving later on another replica, wins.
  for (const id of interactions) {
    await replicas[0]!.post(eventBody(id, 29, { tie: 'first' }));
    await replicas[replicas.length - 1]!.post(eventBody(id, 29, { tie: 'second' }));
  }
  for (const [id, name, s] of await states()) {
    assert.deepEqual(s.json.payload, { second: 29, tie: 'second' }, `${id} on ${name}`);
    assert.deepEqual(Object.keys(s.json).sort(), ['dataActionId', 'interactionId', 'payload', 'updatedTimestamp']);
  }
}
