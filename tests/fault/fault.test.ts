/**
 * The fault suite: crashes at step boundaries and inside uploads, an object store failing 10% of
 * requests, hibernate/resume/activity races, a provider losing a paused sandbox, the worker process
 * finishing an interrupted run. Every scenario
 * asserts that nothing is lost; the totals are printed at the end.
 */
import { afterAll } from "vitest";
import { crashScenarios } from "./crash";
import { flakyScenarios } from "./flaky";
import { raceScenarios } from "./races";
import { printCounts } from "./support";
import { workerScenarios } from "./worker";

flakyScenarios();
raceScenarios();
crashScenarios();
workerScenarios();

afterAll(() => printCounts());
