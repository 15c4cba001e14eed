/**
 * Register models. A register holds one value (`null` is "no value", Jepsen's `nil`).
 *
 * - `registerModel(initial)`: read and write. The committed offset of a (group, key) is such a
 *   register starting at `null`: a commit writes it, fetchCommitted reads it (`committedOffsetModel`).
 * - `casRegisterModel(initial)`: read, write and compare-and-set. A cas `[from to]` that returned
 *   ok found `from` and wrote `to`; one that failed ran and found something other than `from`: it
 *   changed nothing, but it can only be placed where the register did not hold `from`. A cas or a
 *   write with an unknown outcome may take effect or not.
 */
import { unreachable } from '../errors.js';
import type { Model } from './model.js';

export type RegisterValue = number | string | null;

export type RegisterInput =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: RegisterValue };

export type CasInput =
  | RegisterInput
  | { readonly f: 'cas'; readonly from: RegisterValue; readonly to: RegisterValue };

/** A read returns a value; a write returns nothing; a cas returns whether it swapped. */
export type CasOutput =
  | { readonly f: 'read'; readonly value: RegisterValue }
  | { readonly f: 'write' }
  | { readonly f: 'cas'; readonly ok: boolean };

export type RegisterOutput = Exclude<CasOutput, { f: 'cas' }>;

export function registerModel(initial: RegisterValue): Model<RegisterValue, RegisterInput, RegisterOutput> {
  return {
    name: 'register',
    init: () => initial,
    step: stepRegister,
    hash: hashValue,
    showState: showValue,
  };
}

export const committedOffsetModel = registerModel(null);

export function casRegisterModel(initial: RegisterValue): Model<RegisterValue, CasInput, CasOutput> {
  return {
    name: 'cas-register',
    init: () => initial,
    step(state, input, output) {
      switch (input.f) {
        case 'read':
        case 'write':
          return stepRegister(state, input, output?.f === 'cas' ? undefined : output);
        case 'cas': {
          const found = state === input.from;
          if (output === undefined) return found ? input.to : state;
          if (output.f !== 'cas') return undefined;
          if (output.ok) return found ? input.to : undefined;
          return found ? undefined : state;
        }
        default:
          return unreachable(input);
      }
    },
    hash: hashValue,
    showState: showValue,
  };
}

function stepRegister(
  state: RegisterValue,
  input: RegisterInput,
  output: RegisterOutput | undefined,
): RegisterValue | undefined {
  switch (input.f) {
    case 'read':
      if (output === undefined) return state;
      return output.f === 'read' && output.value === state ? state : undefined;
    case 'write':
      return input.value;
    default:
      return unreachable(input);
  }
}

function hashValue(v: RegisterValue): string {
  return v === null ? 'nil' : typeof v === 'number' ? `n${v}` : `s${v}`;
}

export function showValue(v: RegisterValue): string {
  return v === null ? 'nil' : typeof v === 'number' ? String(v) : JSON.stringify(v);
}
