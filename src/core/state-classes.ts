/**
 * Session states by class: the one table every layer asks "is it awake, asleep, mid-operation or
 * gone?", so that a new state is classified once (the Record makes leaving one out a type error).
 *
 * - awake: the sandbox runs and serves requests (the idle sweep watches it).
 * - asleep: at rest without a running sandbox; the next request wakes it (resume or restore).
 *   failed counts here: a resume restores its latest checkpoint, like an archived session's.
 * - transient: a workflow leaves a session in it only while it acts on it (holding the lease);
 *   the UI shows a spinner, retention keeps its history, requests wait or are refused.
 * - terminal: nothing leaves it; the row stays as a record.
 *
 * Lists that are about transitions, not classes (which states an operation may start from, what
 * an activity ping does in each state), stay with the transition table in lifecycle.ts.
 */
import { SESSION_STATES, type SessionState } from "./types";

export const STATE_CLASSES = ["awake", "asleep", "transient", "terminal"] as const;
export type StateClass = (typeof STATE_CLASSES)[number];

export const STATE_CLASS: Readonly<Record<SessionState, StateClass>> = {
  creating: "transient",
  running: "awake",
  hibernating: "transient",
  paused: "asleep",
  archiving: "transient",
  archived: "asleep",
  resuming: "transient",
  restoring: "transient",
  failed: "asleep",
  deleted: "terminal",
};

/** The states of one class, in SESSION_STATES order (the order the lifecycle diagram reads). */
export function statesOf(cls: StateClass): readonly SessionState[] {
  return SESSION_STATES.filter((s) => STATE_CLASS[s] === cls);
}

export const isAwake = (state: SessionState): boolean => STATE_CLASS[state] === "awake";
export const isAsleep = (state: SessionState): boolean => STATE_CLASS[state] === "asleep";
export const isTransient = (state: SessionState): boolean => STATE_CLASS[state] === "transient";
export const isTerminal = (state: SessionState): boolean => STATE_CLASS[state] === "terminal";
