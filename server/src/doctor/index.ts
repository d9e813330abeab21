export { runDoctor, type Check, type CheckStatus, type DoctorOptions } from "./doctor.js";
