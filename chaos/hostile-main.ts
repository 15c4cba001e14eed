/**
 * The hostile clients' own process (forked by chaos/hostile.ts HostileClients): takes one attack
 * at a time over IPC, `{ id, spec }`, runs it, and answers `{ id, outcome }`. It exits when its
 * parent does.
 */
import { runAttack, type AttackSpec } from './hostile.js';

process.on('message', (m: { id: number; spec: AttackSpec }) => {
  void runAttack(m.spec).then((outcome) => process.send!({ id: m.id, outcome }));
});
process.on('disconnect', () => process.exit(0));
