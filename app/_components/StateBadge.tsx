"use client";
/** A session state as a coloured pill; states in motion get a spinner. */
import type { SessionState } from "../../src/core/types";
import { isTransient } from "../../src/core/state-classes";
import { STATE_COLOURS } from "./format";

export function StateBadge({ state }: { state: SessionState }) {
  return (
    <span className="badge" data-state={state} style={{ background: STATE_COLOURS[state] }}>
      {isTransient(state) && <span className="spinner" aria-hidden />}
      {state}
    </span>
  );
}
