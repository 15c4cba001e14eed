/**
 * The process's limit on open files. Node.js has no getrlimit, so it is read where Linux shows
 * it, /proc/self/limits ("Max open files <soft> <hard> files"); the soft limit is the one that
 * applies (Node.js raises it to the hard limit when it starts). Null where the file is not there
 * (not Linux) or says "unlimited": the node then checks nothing (limits.ts replicaLimit).
 */
import fs from 'node:fs';

const LIMITS_FILE = '/proc/self/limits';

/** The soft limit on open files, from the text of /proc/self/limits; null when it names none. */
export function parseOpenFilesLimit(text: string): number | null {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null || m[1] === 'unlimited') return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** This process's limit on open files now; null when it cannot be known here. */
export function openFilesLimit(): number | null {
  let text: string;
  try {
    text = fs.readFileSync(LIMITS_FILE, 'utf8');
  } catch {
    return null;
  }
  return parseOpenFilesLimit(text);
}
