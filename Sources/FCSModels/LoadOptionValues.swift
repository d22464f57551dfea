// The load options as the C ABI's fcs_model_params spells them: their values both ways, so that
// LoadOptions' defaults are the header's FCS_DEFAULT_* macros (the one place each is written)
// and the ABI converts through the same tables.
import CFCS
import FCSTensor

extension StableDiffusion.Variant {
    /// The variant of a C fcs_file_variant value; nil for a value that is none.
    public init?(_ value: fcs_file_variant) {
        switch value {
        case FCS_VARIANT_AUTO: self = .automatic
        case FCS_VARIANT_FP16: self = .fp16
        case FCS_VARIANT_FP32: self = .fp32
        default: return nil
        }
    }
}

extension WeightPrecision {
    /// The weights setting of a C fcs_weight_type value (float32 or float16); nil for a value that is none.
    public init?(_ value: fcs_weight_type) {
        switch value {
        case FCS_WEIGHTS_F32: self = .float32
        case FCS_WEIGHTS_F16: self = .float16
        default: return nil
        }
    }
}

extension ComputePrecision {
    /// This precision's C fcs_precision value.
    public var cValue: fcs_precision {
        switch self {
        case .automatic: FCS_PRECISION_AUTO
        case .float32: FCS_PRECISION_FP32
        case .bfloat16: FCS_PRECISION_BF16
        }
    }

    /// The precision of a C fcs_precision value; nil for a value that is none.
    public init?(_ value: fcs_precision) {
        guard let match = Self.allCases.first(where: { $0.cValue == value }) else { return nil }
        self = match
    }
}

extension StableDiffusion.LoadOptions {
    /// The header's defaults (valid values: FCSTests' CABIDefaultsTests checks them).
    static let headerDefaults = (
        variant: StableDiffusion.Variant(fcs_file_variant(rawValue: UInt32(FCS_DEFAULT_VARIANT)))!,
        precision: WeightPrecision(fcs_weight_type(rawValue: UInt32(FCS_DEFAULT_WEIGHT_TYPE)))!,
        compute: ComputePrecision(fcs_precision(rawValue: UInt32(FCS_DEFAULT_PRECISION)))!
    )
}
