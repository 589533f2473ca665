// Round trips of every codec and mode, 1D/2D/3D, float32/float64, on many kinds of fields:
// the error bound must hold on every element; exact modes must be bitwise exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "Fields.h"
#include "compress/Compressor.h"
#include "compress/Metrics.h"
#include "support/Error.h"

namespace tenet::test {
namespace {

const std::vector<std::vector<std::int64_t>> kShapes = {{1}, {1000}, {61, 67}, {1, 130}, {17, 19, 23}, {5, 1, 33}};
const FieldKind kKinds[] = {FieldKind::Smooth, FieldKind::Wave, FieldKind::Noise, FieldKind::Constant,
                            FieldKind::Zeros, FieldKind::Huge, FieldKind::Tiny, FieldKind::Denormal};

std::string label(const std::string &codec, FieldKind k, const std::vector<std::int64_t> &shape, DType t,
                  const CompressionSettings &s) {
  std::string sh;
  for (auto d : shape) sh += std::to_string(d) + "x";
  return codec + " " + mode_name(s.mode) + "=" + std::to_string(s.value) + " " + field_name(k) + " " + sh + " " +
         dtype_name(t);
}

/// Compresses, checks the header, decompresses with a fresh compressor and with decompress_any,
/// and returns the max abs error (Inf if a value changed class).
template <class T>
double round_trip(const std::string &codec, const CompressionSettings &s, const std::vector<T> &data,
                  const std::vector<std::int64_t> &shape, double *abs_bound, std::size_t *bytes = nullptr) {
  const DType t = sizeof(T) == 4 ? DType::Float32 : DType::Float64;
  auto c = make_compressor(codec, s);
  std::vector<std::uint8_t> packed = c->compress(data.data(), t, shape);
  CompressedInfo info = inspect_compressed(packed);
  EXPECT_EQ(info.codec, codec);
  EXPECT_EQ(info.shape, shape);
  EXPECT_EQ(info.dtype, t);
  EXPECT_EQ(info.settings.mode, s.mode);
  std::vector<T> back(data.size(), T(-12345));
  auto d = make_compressor("none");  // any compressor reads any buffer: the header names the codec
  d->decompress(packed, back.data(), t, shape);
  std::vector<std::uint8_t> any = decompress_any(packed);
  EXPECT_EQ(0, std::memcmp(any.data(), back.data(), any.size()));
  *abs_bound = info.abs_bound;
  if (bytes) *bytes = packed.size();
  return compare_arrays(data.data(), back.data(), data.size(), t).max_abs_error;
}

template <class T>
void check_bounded(const std::string &codec, CompressionMode mode, double value) {
  const DType t = sizeof(T) == 4 ? DType::Float32 : DType::Float64;
  for (const auto &shape : kShapes) {
    for (FieldKind k : kKinds) {
      std::vector<T> data = make_field<T>(k, shape);
      CompressionSettings s{mode, value};
      if (mode == CompressionMode::Absolute) {
        // Scale absolute bounds to the field so huge/tiny fields are not trivially inside.
        double amp = 0;
        for (T v : data) amp = std::max(amp, std::fabs(double(v)));
        s.value = value * (amp > 0 ? amp : 1.0);
      }
      double bound = 0;
      double err = round_trip(codec, s, data, shape, &bound);
      SCOPED_TRACE(label(codec, k, shape, t, s));
      if (mode == CompressionMode::Absolute) {
        EXPECT_EQ(bound, s.value);
      }
      ASSERT_LE(err, bound) << "max error " << err << " exceeds the bound " << bound;
    }
  }
}

template <class T>
void check_exact(const std::string &codec, CompressionSettings s) {
  const DType t = sizeof(T) == 4 ? DType::Float32 : DType::Float64;
  for (const auto &shape : kShapes) {
    for (FieldKind k : kKinds) {
      std::vector<T> data = make_field<T>(k, shape);
      auto c = make_compressor(codec, s);
      std::vector<std::uint8_t> packed = c->compress(data.data(), t, shape);
      std::vector<T> back(data.size());
      c->decompress(packed, back.data(), t, shape);
      SCOPED_TRACE(label(codec, k, shape, t, s));
      ASSERT_EQ(0, std::memcmp(data.data(), back.data(), data.size() * sizeof(T)));
    }
  }
}

TEST(compress_roundtrip, SzAbsoluteFloat32) {
  for (double b : {1e-1, 1e-3, 1e-6}) check_bounded<float>("sz", CompressionMode::Absolute, b);
}
TEST(compress_roundtrip, SzAbsoluteFloat64) {
  for (double b : {1e-2, 1e-5, 1e-12}) check_bounded<double>("sz", CompressionMode::Absolute, b);
}
TEST(compress_roundtrip, SzRelativeFloat32) {
  for (double b : {1e-1, 1e-3, 1e-5, 0.0}) check_bounded<float>("sz", CompressionMode::Relative, b);
}
TEST(compress_roundtrip, SzRelativeFloat64) {
  for (double b : {1e-2, 1e-6, 1e-10}) check_bounded<double>("sz", CompressionMode::Relative, b);
}
TEST(compress_roundtrip, ZfpAccuracyFloat32) {
  for (double b : {1e-1, 1e-3, 1e-6}) check_bounded<float>("zfp", CompressionMode::Absolute, b);
}
TEST(compress_roundtrip, ZfpAccuracyFloat64) {
  for (double b : {1e-2, 1e-9}) check_bounded<double>("zfp", CompressionMode::Absolute, b);
}
TEST(compress_roundtrip, ZfpRelative) {
  for (double b : {1e-2, 1e-4, 0.0}) check_bounded<float>("zfp", CompressionMode::Relative, b);
  check_bounded<double>("zfp", CompressionMode::Relative, 1e-7);
}
TEST(compress_roundtrip, ZfpReversibleIsBitExact) {
  check_exact<float>("zfp", {CompressionMode::Lossless, 0});
  check_exact<double>("zfp", {CompressionMode::Lossless, 0});
}
TEST(compress_roundtrip, ZstdAndNoneAreBitExact) {
  for (const char *codec : {"zstd", "none"}) {
    check_exact<float>(codec, {CompressionMode::Lossless, 0});
    check_exact<double>(codec, {CompressionMode::Lossless, 0});
    check_exact<float>(codec, {CompressionMode::Relative, 1e-3});  // exact satisfies any bound
  }
}

TEST(compress_roundtrip, ZfpPrecisionErrorShrinksWithPrecision) {
  std::vector<std::int64_t> shape{40, 44};
  auto data = make_field<float>(FieldKind::Wave, shape);
  double prev = 1e30, bound = 0;
  std::size_t prev_bytes = 0;
  for (double p : {8.0, 16.0, 24.0}) {
    std::size_t bytes = 0;
    double err = round_trip<float>("zfp", {CompressionMode::Precision, p}, data, shape, &bound, &bytes);
    EXPECT_LT(bound, 0);  // no bound promised
    EXPECT_LT(err, prev) << "precision " << p;
    EXPECT_GT(bytes, prev_bytes);
    prev = err;
    prev_bytes = bytes;
  }
  EXPECT_LT(prev, 1e-4);
}

TEST(compress_roundtrip, ZfpRateGivesThatManyBits) {
  std::vector<std::int64_t> shape{64, 64};
  auto data = make_field<float>(FieldKind::Noise, shape);
  for (double rate : {4.0, 8.0, 16.0}) {
    double bound = 0;
    std::size_t bytes = 0;
    double err = round_trip<float>("zfp", {CompressionMode::Rate, rate}, data, shape, &bound, &bytes);
    double payload_bits = double(bytes) * 8;
    double expected = rate * 64 * 64;
    EXPECT_NEAR(payload_bits, expected, 0.02 * expected + 2000) << "rate " << rate;
    EXPECT_LT(err, 2.0);
  }
}

TEST(compress_roundtrip, SzCompressesSmoothFieldsWell) {
  std::vector<std::int64_t> shape{128, 128};
  auto data = make_field<float>(FieldKind::Smooth, shape);
  // Expected ratios on this 128^2 field at 1e-3: sz about 30, zfp about 5.
  for (auto [codec, least] : {std::pair{"sz", 15.0}, std::pair{"zfp", 4.0}}) {
    double bound = 0;
    std::size_t bytes = 0;
    round_trip<float>(codec, {CompressionMode::Relative, 1e-3}, data, shape, &bound, &bytes);
    EXPECT_GT(double(data.size() * 4) / double(bytes), least) << codec;
  }
}

TEST(compress_roundtrip, OutputDoesNotDependOnThreads) {
  std::vector<std::int64_t> shape{300, 1000};
  auto data = make_field<float>(FieldKind::Wave, shape);
  for (const char *codec : {"sz", "zfp", "zstd"}) {
    auto c = make_compressor(codec, default_settings(codec));
    c->set_threads(1);
    auto one = c->compress(data.data(), DType::Float32, shape);
    c->set_threads(2);
    auto two = c->compress(data.data(), DType::Float32, shape);
    EXPECT_EQ(one, two) << codec;
    std::vector<float> a(data.size()), b(data.size());
    c->set_threads(1);
    c->decompress(one, a.data(), DType::Float32, shape);
    c->set_threads(2);
    c->decompress(one, b.data(), DType::Float32, shape);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << codec;
  }
}

template <class T>
void check_nonfinite() {
  const DType t = sizeof(T) == 4 ? DType::Float32 : DType::Float64;
  std::vector<std::int64_t> shape{20, 30};
  auto data = make_field<T>(FieldKind::Wave, shape);
  data[0] = std::numeric_limits<T>::quiet_NaN();
  data[45] = std::numeric_limits<T>::infinity();
  data[46] = -std::numeric_limits<T>::infinity();
  data[200] = -std::numeric_limits<T>::quiet_NaN();
  data[599] = std::numeric_limits<T>::signaling_NaN();
  for (const char *codec : {"sz", "zstd", "none"}) {
    for (CompressionSettings s : {CompressionSettings{CompressionMode::Relative, 1e-2},
                                  CompressionSettings{CompressionMode::Absolute, 1e-3}}) {
      auto c = make_compressor(codec, s);
      auto packed = c->compress(data.data(), t, shape);
      std::vector<T> back(data.size());
      c->decompress(packed, back.data(), t, shape);
      ErrorStats e = compare_arrays(data.data(), back.data(), data.size(), t);
      EXPECT_TRUE(e.nonfinite_preserved) << codec;
      for (std::size_t i : {0, 45, 46, 200, 599})
        EXPECT_EQ(0, std::memcmp(&data[i], &back[i], sizeof(T))) << codec << " element " << i;
      double bound = inspect_compressed(packed).abs_bound;
      EXPECT_LE(e.max_abs_error, bound) << codec;
    }
  }
  auto z = make_compressor("zfp", {CompressionMode::Absolute, 1e-3});
  try {
    z->compress(data.data(), t, shape);
    FAIL() << "zfp accepted NaN";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}

TEST(compress_nonfinite, StoredExactlyOrRejectedFloat32) { check_nonfinite<float>(); }
TEST(compress_nonfinite, StoredExactlyOrRejectedFloat64) { check_nonfinite<double>(); }

TEST(compress_nonfinite, AllNaNArray) {
  std::vector<float> data(100, std::numeric_limits<float>::quiet_NaN());
  std::vector<std::int64_t> shape{100};
  auto c = make_compressor("sz", {CompressionMode::Relative, 1e-3});
  auto packed = c->compress(data.data(), DType::Float32, shape);
  std::vector<float> back(100);
  c->decompress(packed, back.data(), DType::Float32, shape);
  EXPECT_EQ(0, std::memcmp(data.data(), back.data(), 400));
}

// float64 data spanning +-DBL_MAX: its range overflows to Inf, and a relative bound of 0 must
// still mean exact (it once became 0 * Inf = NaN, stored in the header, and sz then called
// its own output corrupt).
TEST(compress_roundtrip, RelativeBoundOfARangeBeyondDoubleMax) {
  const double big = std::numeric_limits<double>::max();
  std::vector<double> data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = (i % 2 ? big : -big) * (1.0 - 1e-3 * static_cast<double>(i % 7));
  for (const char *codec : {"sz", "zfp", "zstd", "none"}) {
    for (double rel : {0.0, 1e-3}) {
      SCOPED_TRACE(std::string(codec) + " relative " + std::to_string(rel));
      double bound = -1;
      const double err = round_trip<double>(codec, {CompressionMode::Relative, rel}, data, {100}, &bound);
      EXPECT_TRUE(std::isfinite(bound) && bound >= 0) << "stored bound " << bound;
      if (rel == 0) {
        EXPECT_EQ(bound, 0.0);
      }
      EXPECT_LE(err, bound);
    }
  }
}

TEST(compress_errors, UnknownCodecListsAvailable) {
  try {
    make_compressor("sz3");
    FAIL();
  } catch (const Error &e) {
    std::string m = e.what();
    for (const auto &name : available_codecs()) EXPECT_NE(m.find(name), std::string::npos) << m;
  }
}

TEST(compress_errors, ModeTheCodecLacks) {
  EXPECT_THROW(make_compressor("sz", {CompressionMode::Rate, 8}), Error);
  EXPECT_THROW(make_compressor("sz", {CompressionMode::Lossless, 0}), Error);
  EXPECT_THROW(make_compressor("zstd", {CompressionMode::Precision, 8}), Error);
  EXPECT_THROW(make_compressor("zfp", {CompressionMode::Absolute, -1}), Error);
  EXPECT_THROW(make_compressor("zfp", {CompressionMode::Absolute, std::nan("")}), Error);
  EXPECT_THROW(make_compressor("zfp", {CompressionMode::Precision, 0}), Error);
  EXPECT_THROW(make_compressor("zfp", {CompressionMode::Rate, 0}), Error);
}

TEST(compress_errors, BadShapes) {
  std::vector<float> data(8);
  auto c = make_compressor("sz", {CompressionMode::Absolute, 1e-3});
  std::vector<std::int64_t> none, four{1, 2, 2, 2}, zero{0, 8};
  EXPECT_THROW(c->compress(data.data(), DType::Float32, none), Error);
  EXPECT_THROW(c->compress(data.data(), DType::Float32, four), Error);
  EXPECT_THROW(c->compress(data.data(), DType::Float32, zero), Error);
  std::vector<std::int64_t> shape{2, 4}, other{4, 2};
  auto packed = c->compress(data.data(), DType::Float32, shape);
  std::vector<double> dbl(8);
  EXPECT_THROW(c->decompress(packed, data.data(), DType::Float32, other), Error);
  EXPECT_THROW(c->decompress(packed, dbl.data(), DType::Float64, shape), Error);
  EXPECT_THROW(parse_shape("3,,4"), Error);
  EXPECT_THROW(parse_shape("1,2,3,4"), Error);
  EXPECT_THROW(parse_shape("0"), Error);
  EXPECT_EQ(parse_shape("7,8,9"), (std::vector<std::int64_t>{7, 8, 9}));
}

}  // namespace
}  // namespace tenet::test
