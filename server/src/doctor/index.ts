export { runDoctor, type Check, type CheckStatus, type DoctorOptions } from "./doctor.js";
export { MIN_PYTHON, probePool, type ProbeResult, pythonTooOld } from "./probe.js";
