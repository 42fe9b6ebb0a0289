/** The encryption key the robustness processes and the tests share (so replays can read sensitive values). */
export const WORKER_KEY = Buffer.alloc(32, 11).toString('base64')
