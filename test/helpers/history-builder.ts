// Builds Temporal workflow histories without a server (none can run here): the real workflow code is replayed over
// the history so far, a recording interceptor reports the commands of its newest workflow task, and the builder
// appends the events a server would record for them (scheduled activities, signals, completion), then the outcomes
// a script chooses (activity results, failures, retries, a cancel request). The resulting histories are committed
// and replayed by the tests like histories recorded from a server.
import proto from '@temporalio/proto';

const { temporal } = proto;
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type InjectedSinks,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { RecorderSinks } from '../fixtures/workflows/command-recorder.js';

// Plain objects (numbers for int64 fields); History.fromObject converts them.
type Event = Record<string, unknown>;
const ET = temporal.api.enums.v1.EventType;

export const WORKFLOWS = new URL('../../workflows/index.ts', import.meta.url).pathname;
export const RECORDER = new URL('../fixtures/workflows/command-recorder.ts', import.meta.url).pathname;

export type Command = Record<string, unknown> & { type: string; seq?: number };

const payload = (v: unknown) => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify(v)),
});

let runtimeReady = false;
let bundle: WorkflowBundle | undefined;
function quietRuntime() {
  if (runtimeReady) return;
  runtimeReady = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by another test helper
  }
}

export class HistoryBuilder {
  readonly events: Event[] = [];
  private time = Date.parse('2026-11-26T12:00:00Z');
  private lastWftCompleted = 0;
  /** Open activities by seq: their scheduled event id. */
  readonly openActivities = new Map<number, { scheduled: number; activityType: string }>();
  private openSignals = new Map<number, number>();
  /** Open child workflows by seq. */
  readonly openChildren = new Map<
    number,
    { initiated: number; workflowId: string; workflowType: string; started?: number }
  >();
  done = false;
  private seenCommands = 0;

  constructor(
    readonly workflowType: string,
    args: unknown[],
    readonly taskQueue = 'unprune-sweeps',
  ) {
    this.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: workflowType },
        taskQueue: { name: taskQueue },
        input: { payloads: args.map(payload) },
        workflowTaskTimeout: { seconds: 10 },
        originalExecutionRunId: 'run-1',
        firstExecutionRunId: 'run-1',
        attempt: 1,
        identity: 'history-builder',
      },
    });
    this.workflowTask();
  }

  private add(eventType: number, attrs: Partial<Event>): number {
    const eventId = this.events.length + 1;
    this.time += 1000;
    this.events.push({
      eventId,
      eventTime: { seconds: Math.floor(this.time / 1000), nanos: 0 },
      eventType,
      ...attrs,
    });
    return eventId;
  }

  /** WorkflowTaskScheduled + Started (the task the workflow will run next). */
  private workflowTask(): void {
    const scheduled = this.add(ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, {
      workflowTaskScheduledEventAttributes: {
        taskQueue: { name: this.taskQueue },
        startToCloseTimeout: { seconds: 10 },
        attempt: 1,
      },
    });
    this.add(ET.EVENT_TYPE_WORKFLOW_TASK_STARTED, {
      workflowTaskStartedEventAttributes: {
        scheduledEventId: scheduled,
        identity: 'history-builder',
        requestId: `r${scheduled}`,
      },
    });
  }

  history() {
    return temporal.api.history.v1.History.fromObject({ events: this.events });
  }

  /** Replays the history so far and returns the commands of the newest workflow task. */
  async commands(): Promise<Command[]> {
    quietRuntime();
    const captured: Command[] = [];
    const sinks: InjectedSinks<RecorderSinks> = {
      recorder: { command: { fn: (_info, c) => void captured.push(c as Command), callDuringReplay: true } },
    };
    bundle ??= await bundleWorkflowCode({
      workflowsPath: WORKFLOWS,
      workflowInterceptorModules: [RECORDER],
      logger: new DefaultLogger('ERROR'),
    });
    await Worker.runReplayHistory(
      { workflowBundle: bundle, sinks, replayName: 'history-builder' },
      this.history(),
      'wf-1',
    );
    // Sinks also fire while earlier tasks replay; those commands were seen when their tasks were built.
    const fresh = captured.slice(this.seenCommands);
    this.seenCommands = captured.length;
    return fresh;
  }

  /** Completes the workflow task with the events for its commands. Returns the commands. */
  async step(): Promise<Command[]> {
    const cmds = await this.commands();
    const started = this.events.length;
    this.lastWftCompleted = this.add(ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {
      workflowTaskCompletedEventAttributes: {
        scheduledEventId: started - 1,
        startedEventId: started,
        identity: 'history-builder',
      },
    });
    for (const c of cmds) {
      if (c.type === 'activity') {
        const id = this.add(ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {
          activityTaskScheduledEventAttributes: {
            activityId: String(c.activityId ?? c.seq),
            activityType: { name: String(c.activityType) },
            taskQueue: { name: String(c.taskQueue) },
            input: { payloads: (c.args as unknown[]).map(payload) },
            workflowTaskCompletedEventId: this.lastWftCompleted,
            scheduleToCloseTimeout: { seconds: 0 },
            startToCloseTimeout: { seconds: 3600 },
            heartbeatTimeout: { seconds: 300 },
          },
        });
        this.openActivities.set(c.seq!, { scheduled: id, activityType: String(c.activityType) });
      } else if (c.type === 'signal') {
        const id = this.add(ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, {
          signalExternalWorkflowExecutionInitiatedEventAttributes: {
            workflowTaskCompletedEventId: this.lastWftCompleted,
            namespace: 'default',
            workflowExecution: { workflowId: 'parent' },
            signalName: String(c.signalName),
            input: { payloads: (c.args as unknown[]).map(payload) },
          },
        });
        this.openSignals.set(c.seq!, id);
      } else if (c.type === 'child') {
        const id = this.add(ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, {
          startChildWorkflowExecutionInitiatedEventAttributes: {
            namespace: 'default',
            workflowId: String(c.workflowId),
            workflowType: { name: String(c.workflowType) },
            taskQueue: { name: String(c.taskQueue) },
            input: { payloads: (c.args as unknown[]).map(payload) },
            workflowTaskCompletedEventId: this.lastWftCompleted,
          },
        });
        this.openChildren.set(c.seq!, {
          initiated: id,
          workflowId: String(c.workflowId),
          workflowType: String(c.workflowType),
        });
      } else if (c.type === 'complete') {
        this.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {
          workflowExecutionCompletedEventAttributes: {
            result: { payloads: [payload(c.result)] },
            workflowTaskCompletedEventId: this.lastWftCompleted,
          },
        });
        this.done = true;
      } else if (c.type === 'failed') {
        this.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
          workflowExecutionFailedEventAttributes: {
            failure: {
              message: String(c.message),
              source: 'TypeScriptSDK',
              applicationFailureInfo: {
                type: String(c.failureType ?? 'Error'),
                nonRetryable: true,
                details: { payloads: ((c.details as unknown[] | undefined) ?? []).map(payload) },
              },
            },
            workflowTaskCompletedEventId: this.lastWftCompleted,
          },
        });
        this.done = true;
      } else if (c.type === 'upsert') {
        // no event of its own in the builder's histories (search attributes are off)
      } else if (c.type === 'cancelled') {
        this.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {
          workflowExecutionCanceledEventAttributes: { workflowTaskCompletedEventId: this.lastWftCompleted },
        });
        this.done = true;
      } else throw new Error(`history builder: no events for command ${JSON.stringify(c)}`);
    }
    return cmds;
  }

  /** The outcome of open signals (delivered). */
  signalsDelivered(): void {
    for (const [, initiated] of this.openSignals)
      this.add(ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, {
        externalWorkflowExecutionSignaledEventAttributes: {
          initiatedEventId: initiated,
          namespace: 'default',
          workflowExecution: { workflowId: 'parent' },
        },
      });
    this.openSignals.clear();
  }

  /** ActivityTaskStarted for the attempt that ends the activity (attempt > 1: earlier attempts failed). */
  private activityStarted(seq: number, scheduled: number, attempt = 1): number {
    return this.add(ET.EVENT_TYPE_ACTIVITY_TASK_STARTED, {
      activityTaskStartedEventAttributes: {
        scheduledEventId: scheduled,
        identity: 'worker',
        requestId: `a${seq}`,
        attempt,
        lastFailure:
          attempt > 1
            ? { message: 'worker process died (SIGKILL)', applicationFailureInfo: { type: 'Error' } }
            : undefined,
      },
    });
  }

  /** An activity attempt starts and completes with `result` (attempt > 1: it failed before and was retried). */
  complete(seq: number, result: unknown, attempt = 1): void {
    const a = this.openActivities.get(seq)!;
    const started = this.activityStarted(seq, a.scheduled, attempt);
    this.add(ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, {
      activityTaskCompletedEventAttributes: {
        scheduledEventId: a.scheduled,
        startedEventId: started,
        result: { payloads: [payload(result)] },
        identity: 'worker',
      },
    });
    this.openActivities.delete(seq);
  }

  /** An activity fails for good (retries exhausted or non-retryable), with an ApplicationFailure of `type`. */
  fail(seq: number, message: string, type = 'DatasetMissingError', details: unknown[] = []): void {
    const a = this.openActivities.get(seq)!;
    const started = this.activityStarted(seq, a.scheduled);
    this.add(ET.EVENT_TYPE_ACTIVITY_TASK_FAILED, {
      activityTaskFailedEventAttributes: {
        scheduledEventId: a.scheduled,
        startedEventId: started,
        failure: {
          message,
          source: 'TypeScriptSDK',
          applicationFailureInfo: { type, nonRetryable: true, details: { payloads: details.map(payload) } },
        },
        identity: 'worker',
      },
    });
    this.openActivities.delete(seq);
  }

  /** The server starts the open children (ChildWorkflowExecutionStarted). */
  childrenStarted(): void {
    for (const [, ch] of this.openChildren) {
      if (ch.started) continue;
      ch.started = this.add(ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, {
        childWorkflowExecutionStartedEventAttributes: {
          namespace: 'default',
          initiatedEventId: ch.initiated,
          workflowExecution: { workflowId: ch.workflowId, runId: `run-${ch.workflowId}` },
          workflowType: { name: ch.workflowType },
        },
      });
    }
  }

  /** A child workflow completes with `result`. */
  childCompleted(seq: number, result: unknown): void {
    const ch = this.openChildren.get(seq)!;
    this.add(ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, {
      childWorkflowExecutionCompletedEventAttributes: {
        namespace: 'default',
        initiatedEventId: ch.initiated,
        startedEventId: ch.started,
        workflowExecution: { workflowId: ch.workflowId, runId: `run-${ch.workflowId}` },
        workflowType: { name: ch.workflowType },
        result: { payloads: [payload(result)] },
      },
    });
    this.openChildren.delete(seq);
  }

  /** A child workflow fails with an ApplicationFailure of `type` whose details carry `details`. */
  childFailed(seq: number, message: string, type: string, details: unknown[]): void {
    const ch = this.openChildren.get(seq)!;
    this.add(ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, {
      childWorkflowExecutionFailedEventAttributes: {
        namespace: 'default',
        initiatedEventId: ch.initiated,
        startedEventId: ch.started,
        workflowExecution: { workflowId: ch.workflowId, runId: `run-${ch.workflowId}` },
        workflowType: { name: ch.workflowType },
        failure: {
          message,
          source: 'TypeScriptSDK',
          applicationFailureInfo: { type, nonRetryable: true, details: { payloads: details.map(payload) } },
        },
        retryState: 2,
      },
    });
    this.openChildren.delete(seq);
  }

  cancelRequested(): void {
    this.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
      workflowExecutionCancelRequestedEventAttributes: { cause: 'unprune cancel', identity: 'cli' },
    });
  }

  /** After a cancel request the workflow asks to cancel its open activities; the worker reports them cancelled. */
  activitiesCancelled(): void {
    const requests = [...this.openActivities.entries()].map(([seq, a]) => ({
      seq,
      a,
      req: this.add(ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, {
        activityTaskCancelRequestedEventAttributes: {
          scheduledEventId: a.scheduled,
          workflowTaskCompletedEventId: this.lastWftCompleted,
        },
      }),
    }));
    for (const { seq, a, req } of requests) {
      const started = this.activityStarted(seq, a.scheduled);
      this.add(ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        activityTaskCanceledEventAttributes: {
          scheduledEventId: a.scheduled,
          startedEventId: started,
          latestCancelRequestedEventId: req,
          identity: 'worker',
        },
      });
      this.openActivities.delete(seq);
    }
  }

  nextTask(): void {
    this.workflowTask();
  }
}
