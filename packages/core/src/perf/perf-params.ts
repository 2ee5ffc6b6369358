/**
 * The numbers of the perf cost model (DESIGN §8), as data. A march package declares them per chip, each with the
 * public figure it comes from or the assumption it is; users override any of them from a config object.
 * Rates are per second, overheads in seconds.
 */
export interface PerfParams {
  bpu: {
    /** Multiply-accumulates per second of GEMM-like ops, by activation × weight integer types (either order). */
    macsPerSecond: { int8xint8: number; int16xint8: number; int16xint16: number };
    /** A GEMM that emits float32 (nash-h) converts its int32 accumulators in the output stage at this rate. */
    float32OutputElementsPerSecond: number;
    /**
     * The fraction of the peak MAC rates that dense GEMM layers reach (tiling, pipeline fill, layer switches):
     * fitted to published latencies.
     */
    gemmEfficiency: number;
    /**
     * Input channels the MAC array reduces over in one step: a convolution with fewer channels per group (a
     * depthwise one has 1) leaves the rest of the lanes idle, so it runs at (channels per group / lanes) of the rate.
     */
    reductionLanes: number;
    /** Fixed cost of every BPU layer (a GEMM with its fused output stage, or a standalone BPU op). */
    opOverheadSeconds: number;
  };
  vpu: {
    /** Elementwise throughput; Quantize / Dequantize / Rescale use these rates on the BPU and the VPU alike. */
    elementsPerSecond: { quantize: number; dequantize: number; rescale: number; floatIsland: number; dataMovement: number };
    opOverheadSeconds: number;
  };
  ddr: { bytesPerSecond: number };
  /**
   * On-chip memory: an activation of at most this many bytes stays on chip between the layers that produce and
   * read it, and costs no DDR traffic; a larger one is written to DDR and read back. Graph inputs and outputs, and
   * tensors a CPU op reads or writes, are always in DDR.
   */
  sram: { activationBytes: number };
  /** The host CPU: C++ dequantize of the outputs that leave the NPU as integers, and float fallbacks. */
  cpu: {
    elementsPerSecond: { dequantize: number; quantize: number; float: number };
    /** Float GEMM-like ops that fell back to the CPU. */
    macsPerSecond: number;
    opOverheadSeconds: number;
  };
}

/** Every field optional, at every depth: what a config overrides. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends number ? number : DeepPartial<T[K]> };

/** Where a number comes from: a public figure (possibly converted), or an assumption. */
export interface ParamNote {
  readonly basis: 'public' | 'assumption';
  /** How the number was obtained, e.g. '128 TOPS int8 ÷ 2 ops per MAC'. */
  readonly note: string;
  /** The public source (a URL or a named document), for public figures. */
  readonly source?: string;
}

/** One note per number: the same tree as PerfParams, so a number without a note does not compile. */
export type ParamNotes<T> = { readonly [K in keyof T]: T[K] extends number ? ParamNote : ParamNotes<T[K]> };

/** The cost-model numbers of one chip. */
export interface ChipPerf {
  /** 'J6M', 'J6P', … — what `--chip` selects (case-insensitive). */
  readonly chip: string;
  readonly description: string;
  readonly params: PerfParams;
  readonly notes: ParamNotes<PerfParams>;
}

/** What a march carries for `perf`: its chips and the default one. */
export interface MarchPerf {
  readonly defaultChip: string;
  readonly chips: readonly ChipPerf[];
}

/** The unit of every number, in the same tree: the schema that config overrides are validated against. */
export const PERF_PARAM_UNITS: UnitTree<PerfParams> = {
  bpu: {
    macsPerSecond: { int8xint8: 'MAC/s', int16xint8: 'MAC/s', int16xint16: 'MAC/s' },
    float32OutputElementsPerSecond: 'elements/s',
    gemmEfficiency: 'fraction',
    reductionLanes: 'count',
    opOverheadSeconds: 's',
  },
  vpu: {
    elementsPerSecond: {
      quantize: 'elements/s',
      dequantize: 'elements/s',
      rescale: 'elements/s',
      floatIsland: 'elements/s',
      dataMovement: 'elements/s',
    },
    opOverheadSeconds: 's',
  },
  ddr: { bytesPerSecond: 'bytes/s' },
  sram: { activationBytes: 'bytes' },
  cpu: {
    elementsPerSecond: { dequantize: 'elements/s', quantize: 'elements/s', float: 'elements/s' },
    macsPerSecond: 'MAC/s',
    opOverheadSeconds: 's',
  },
};

export type UnitTree<T> = { readonly [K in keyof T]: T[K] extends number ? ParamUnit : UnitTree<T[K]> };
export type ParamUnit = 'MAC/s' | 'elements/s' | 'bytes/s' | 's' | 'bytes' | 'fraction' | 'count';

/** One row of the parameter table a report prints: a number, its unit, and where it comes from. */
export interface ParamRow {
  /** Dotted path, e.g. 'bpu.macsPerSecond.int8xint8' — the key a config overrides. */
  readonly param: string;
  readonly value: number;
  readonly unit: ParamUnit;
  /** 'override' when the config replaced the march's number. */
  readonly basis: ParamNote['basis'] | 'override';
  readonly note: string;
  readonly source?: string;
}

/** The parameters as rows, in declaration order; `params` (resolved, maybe overridden) supplies the values. */
export function paramRows(chip: ChipPerf, params: PerfParams = chip.params): ParamRow[] {
  const rows: ParamRow[] = [];
  const walk = (units: Record<string, unknown>, notes: Record<string, unknown>, base: Record<string, unknown>, used: Record<string, unknown>, prefix: string) => {
    for (const key of Object.keys(units)) {
      const unit = units[key];
      const path = `${prefix}${key}`;
      if (typeof unit === 'string') {
        const note = notes[key] as ParamNote;
        const value = used[key] as number;
        const overridden = value !== base[key];
        rows.push({
          param: path,
          value,
          unit: unit as ParamUnit,
          basis: overridden ? 'override' : note.basis,
          note: overridden ? `set by the config (the march's value: ${base[key] as number}; ${note.note})` : note.note,
          ...(note.source && !overridden ? { source: note.source } : {}),
        });
      } else {
        walk(unit as Record<string, unknown>, notes[key] as Record<string, unknown>, base[key] as Record<string, unknown>, used[key] as Record<string, unknown>, `${path}.`);
      }
    }
  };
  walk(PERF_PARAM_UNITS, chip.notes, chip.params as unknown as Record<string, unknown>, params as unknown as Record<string, unknown>, '');
  return rows;
}
