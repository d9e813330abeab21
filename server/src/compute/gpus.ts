import { create } from "@bufbuild/protobuf";
import { type GpuType, GpuTypeSchema, GpuStock } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";
import { PyfleetError } from "../errors.js";

/**
 * The GPU catalog: pyfleet aliases and the cloud's type ids (RunPod's naming,
 * which the mock and local providers reuse). Prices are indicative on-demand
 * and spot prices per GPU-hour in US dollars; live providers may report
 * their own.
 */
const CATALOG: [alias: string, id: string, memoryGb: number, price: number, spot: number][] = [
  ["a100", "NVIDIA A100 80GB PCIe", 80, 1.64, 0.82],
  ["a100-sxm", "NVIDIA A100-SXM4-80GB", 80, 1.74, 1.05],
  ["a40", "NVIDIA A40", 48, 0.44, 0.24],
  ["a4000", "NVIDIA RTX A4000", 16, 0.17, 0.09],
  ["a4500", "NVIDIA RTX A4500", 20, 0.19, 0.11],
  ["a5000", "NVIDIA RTX A5000", 24, 0.27, 0.13],
  ["a6000", "NVIDIA RTX A6000", 48, 0.49, 0.25],
  ["b200", "NVIDIA B200", 180, 5.99, 3.59],
  ["h100", "NVIDIA H100 80GB HBM3", 80, 2.69, 1.75],
  ["h100-nvl", "NVIDIA H100 NVL", 94, 2.79, 1.64],
  ["h100-pcie", "NVIDIA H100 PCIe", 80, 2.39, 1.25],
  ["h200", "NVIDIA H200", 141, 3.99, 2.29],
  ["l4", "NVIDIA L4", 24, 0.43, 0.22],
  ["l40", "NVIDIA L40", 48, 0.99, 0.5],
  ["l40s", "NVIDIA L40S", 48, 0.86, 0.53],
  ["mi300x", "AMD Instinct MI300X OAM", 192, 2.49, 1.49],
  ["rtx3090", "NVIDIA GeForce RTX 3090", 24, 0.22, 0.11],
  ["rtx4090", "NVIDIA GeForce RTX 4090", 24, 0.34, 0.2],
  ["rtx5090", "NVIDIA GeForce RTX 5090", 32, 0.69, 0.42],
];

/** The catalog as GpuType messages, sorted by alias. */
export function gpuCatalog(stock = GpuStock.UNSPECIFIED): GpuType[] {
  return CATALOG.map(([alias, id, memoryGb, pricePerHour, spotPricePerHour]) =>
    create(GpuTypeSchema, { alias, id, displayName: id, memoryGb, pricePerHour, spotPricePerHour, stock }));
}

/**
 * The provider's GPU type id for an alias or id ("" for none); an unknown
 * name is INVALID_ARGUMENT listing the valid aliases.
 */
export function resolveGpu(gpu: string, catalog: GpuType[], provider: string): GpuType | undefined {
  if (gpu === "") return undefined;
  const wanted = gpu.trim().toLowerCase();
  const found = catalog.find((g) => g.alias === wanted || g.id.toLowerCase() === wanted);
  if (!found) {
    throw new PyfleetError("invalid_argument",
      `unknown GPU "${gpu}" for provider "${provider}"; valid: ${catalog.map((g) => g.alias).join(", ")} (or their full names, see ListGpuTypes)`);
  }
  return found;
}
