/**
 * The value of one key of a key-value store (partition a history by key and check each key with
 * this model). It starts as the empty string; `put` replaces it, `append` concatenates to it and
 * `get` returns it. A put or append with an unknown outcome may take effect or not.
 */
import { unreachable } from '../errors.js';
import type { Model } from './model.js';

export type KvInput =
  | { readonly f: 'get' }
  | { readonly f: 'put'; readonly value: string }
  | { readonly f: 'append'; readonly value: string };

export type KvOutput = { readonly f: 'get'; readonly value: string } | { readonly f: 'put' | 'append' };

export const kvKeyModel: Model<string, KvInput, KvOutput> = {
  name: 'kv',
  init: () => '',
  step(state, input, output) {
    switch (input.f) {
      case 'get':
        if (output === undefined) return state;
        return output.f === 'get' && output.value === state ? state : undefined;
      case 'put':
        return input.value;
      case 'append':
        return state + input.value;
      default:
        return unreachable(input);
    }
  },
  hash: (s) => s,
  showState: (s) => JSON.stringify(s),
};
