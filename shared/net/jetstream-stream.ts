// Making a JetStream stream that several processes may make at once (replicas starting together),
// or that an earlier version made with other limits.
import { NatsError, type JetStreamManager, type StreamConfig, type StreamUpdateConfig } from 'nats';

/** JetStream: "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/**
 * Creates the stream, or brings an existing one to `limits` (so the last process to start sets
 * them). An add with the same configuration succeeds, so processes starting together agree. Other
 * errors are the caller's to word.
 */
export async function addOrUpdateStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, limits: Partial<StreamUpdateConfig>): Promise<void> {
  try {
    await jsm.streams.add({ ...config, ...limits });
  } catch (error) {
    if (!(error instanceof NatsError && error.api_error?.err_code === STREAM_NAME_IN_USE)) throw error;
    await jsm.streams.update(config.name, limits);
  }
}
