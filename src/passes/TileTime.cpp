// Time tiling (wavefront temporal blocking) along the outermost space dimension.
//
// A time step of a stencil reads the whole grid and writes it once: on grids larger than the
// last-level cache every step streams all its arrays from memory. Here T consecutive steps run
// tile by tile: tile k covers at step s of the block the part [xt - s R, xt + W - 1 - s R] of
// the outermost dimension x (R the stencil's reach along x), whole in the other dimensions.
// Step s of tile k reads step s - 1 at most R away: inside tile k's part of that step or in
// earlier tiles' (complete), so the tiles run in order, each its T steps in a row, and the
// levels a tile's next step reads are still in the cache. The modulo buffers stay valid: a
// level is overwritten (B steps later) by earlier tiles only below what later tiles still
// read, as long as every read of a written level j steps back lies within j R and, B - j > 0
// steps before its overwrite, within (B - j) R (checked below; reads of the level a step
// overwrites in place must be at the point itself). Each point sees the same operations in the
// same order as untiled, so results are bitwise the same.
//
// Where stages along y do not fit (below), the threads share each tile step's part and meet
// after it at a spinning barrier (codegen/CodeGenC.cpp: a tile step is microseconds of work,
// less than waking a sleeping OpenMP thread costs).
//
// Sparse operations run after each tile step's part of the stencil, one thread, each write
// (injection) and each interpolated value (by its cell) in the tile step whose part holds it;
// the parts at the ends of the range also take what lies beyond them (halo corners). A tile
// step visits only its x tile's points (listed once per call by codegen).
//
// Applies to a time loop with one dense loop nest (its Parallel loop over x or x blocks) and
// any number of sparse loops; everything else is left untiled. T = 8 steps (2D: 16, see
// steps_per_tile), tiles W = 4 R wide
// (at least 16): the planes a tile step touches, W + 2 R of them in every array, must stay in
// the last-level cache until the next step; at 256^3 a plane is 280 KiB per array, so wider
// tiles spill (32 MiB here). 256^3 order 8, 2 threads, `tenet bench forward` 4 interleaved
// runs: W = 16 1.63-1.98 Gpts/s (median 1.96, 1.0x the streaming baseline), W = 32 1.42-1.87
// (median 1.59), untiled 1.47-1.74; the adjoint with gradient of `tenet bench gradient`
// 0.59-0.69 s (W = 16) against 0.82-0.91 s (W = 32). Order 12: W = 24 median 1.43 against
// 1.33 untiled (W = 48 was 7% slower than untiled), too close to tile by default.
//
// Stages along y. Above, every tile step is shared by all threads, with a barrier after
// each (T per tile), and its part spans the whole of y: 16 planes of 256^2 are 4 MiB per array,
// about 30 MiB a step for a reverse with its gradient, more than the cache holds. Where every
// thread can have one, tiles are also cut along y, skewed the same way (both by the larger
// reach R), and each thread runs a stage: a contiguous run of y tiles, all its tile steps alone,
// tile after tile, x tile after x tile. Tile (i, j) (x, y) needs step s - 1 of (i - 1, j - 1),
// (i - 1, j) and (i, j - 1): a stage's first tile of x tile i waits for the stage before to
// have run x tile i. Two tiles running at once are then either (i, j) and (i - 1, j + 1) or
// further apart in y. For the first pair the parts meet only at the same step s (along x step
// s' of (i - 1, j + 1) lies within R of (i, j)'s part only for s' <= s, along y only for s' >=
// s), where neither reads what the other writes: the level written at that step, read only at
// the point itself, and the earlier levels, not written. Tiles with a whole tile between them
// touch disjoint rows over the T steps of a block when that tile is at least (T + 1) R wide
// (each reaches T R below its first row and R above its last), which stages and tiles are.
// To keep further x tiles from running beside the ones they would overwrite, a stage's last
// tile of x tile i waits for the stage after to have run its first tile of x tile i - 1. One
// barrier per block of T steps. 256^3 order 8, 2 threads, same-process A/B against tiles whole
// in y: forward median 0.49-0.50 s against 0.84-0.87 s per 48 steps (minimum 0.44-0.45 against
// 0.47-0.81), 0.92 s against 1.94 s beside a process busy on one core, 0.92x on 1 thread; the
// reverse with its gradient 0.94-0.96x. Threads beyond the stages that fit would idle, so
// kernels built for more threads than that keep tiles whole in y. 2D (y the rows' contiguous
// dimension), 2001^2 order 4 with 1961 receivers, same-process A/B against shared tiles: the
// forward median 0.88-0.90x (minimum 0.21-0.22 s against 0.28-0.31 s per 200 steps), the
// gradient's reverse median 0.90x; the shared tiles' barriers, about 250 a step, also made
// them run at half speed or less for seconds at a time on this VM (order 8: 0.68-1.25 s
// against the stages' 0.33-0.68 s in such a phase; 4001 x 801: 0.74-0.82 s against 0.35-0.58).
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <omp.h>

#include "passes/Passes.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

// Time steps per tile, T: 8 in 3D; 16 in 2D, where a tile's planes are rows and the cache holds
// more steps of them (2D 2001^2, same-process A/B against 8: order 4 forward 0.92-0.93x, the
// adjoint with its gradient 0.82-0.87x, 4001 x 801 0.93x; order 8 0.97x forward, 0.94-0.98x
// adjoint; 32 against 16: forward 0.96-1.02x). 3D, 16 made the reverse slower.
int steps_per_tile(const Grid &g) { return g.ndim() == 2 ? 16 : 8; }

// Stages along y (see the file comment): the least width of a stage, and so of a tile, for a
// reach R; tiles aim at 40 rows (256^3 order 8, 2 threads: two stages of three 47-row tiles).
std::int64_t least_stage_width(const Grid &g, std::int64_t reach) {
  return std::max<std::int64_t>(1, (steps_per_tile(g) + 1) * reach);
}
constexpr std::int64_t kStageTileRows = 40;
// The width tiles of a stage aim at: 3D, kStageTileRows rows; 2D, where y is the contiguous
// dimension and a tile step's rows are vectors, as wide as possible: the whole run, so that a
// stage splits in the two tiles the pipeline needs (codegen/CodeGenC.cpp). 2001^2 order 4:
// tiles of 128, 256, about 500 columns, 0.267, 0.221, 0.216-0.236 s per 200 steps.
std::int64_t stage_tile_width(const Grid &g, std::int64_t reach) {
  if (g.ndim() == 2) return g.shape()[1] + (steps_per_tile(g) - 1) * reach;
  return std::max(least_stage_width(g, reach), kStageTileRows);
}

struct Access {
  const FieldData *f;
  Expr at;
  bool dense;  // read by the dense nest (else by a sparse operation, at a cell's corners)
};

// `index - base` when it is an integer constant (t + k against t, x - 2 against x).
std::optional<std::int64_t> integer_offset(const Expr &index, const Expr &base) {
  Expr off = index - base;
  if (!off.is_exact() || !off.rational().is_integer()) return std::nullopt;
  return off.rational().num;
}

struct Analysis {
  std::int64_t reach = 0;     // the skew R for which tiling keeps every read valid
  bool unread_level = false;  // a written TimeFunction level the step does not read (not in place)
  // The same along y: whether tiles may also be cut along y, and the reach there.
  bool y_tiles = false;
  std::int64_t reach_y = 0;
};

// What tiling `k` needs to know, or nothing when it cannot be tiled.
std::optional<Analysis> analyse(const Kernel &k) {
  const Grid &g = *k.grid;
  const Expr t = g.time_dim(), x = g.dim(0);
  const std::int64_t dir = k.backward ? -1 : 1;
  // The level each written TimeFunction's dense equations write; Functions written.
  std::map<const FieldData *, std::int64_t> level;
  std::set<const FieldData *> written_functions, in_place;
  std::vector<Access> reads;
  for (const Eq &e : k.equations) {
    const bool dense = e.kind == EqKind::Assign || e.kind == EqKind::Increment;
    if (e.kind != EqKind::Interpolate) {
      const FieldData *f = field_of(e.lhs);
      if (!f || !f->on_grid()) return std::nullopt;
      if (f->kind == FieldKind::TimeFunction) {
        auto w = integer_offset(e.lhs.ops()[0], t);
        if (!w) return std::nullopt;
        if (dense) {
          auto [it, fresh] = level.emplace(f, *w);
          if (!fresh && it->second != *w) return std::nullopt;  // two levels written
        }
      } else {
        written_functions.insert(f);
      }
      // (An increment's read of its own target is the write itself: not a read here.)
    }
    for (const Expr &a : accesses(e.rhs)) {
      const FieldData *f = field_of(a);
      if (f && f->on_grid()) reads.push_back({f, a, dense});
    }
  }
  // Sparse writes: only into the level the dense nest writes, or into Functions that nothing
  // reads but their own increments (checked with the reads below).
  for (const Eq &e : k.equations) {
    if (e.kind != EqKind::Inject) continue;
    const FieldData *f = field_of(e.lhs);
    if (f->kind == FieldKind::TimeFunction && (!level.count(f) || *integer_offset(e.lhs.ops()[0], t) != level[f]))
      return std::nullopt;
  }
  Analysis out;
  out.y_tiles = true;
  for (const Access &r : reads) {
    if (written_functions.count(r.f)) return std::nullopt;  // a Function written in the loop and read
    if (r.f->kind != FieldKind::TimeFunction || !level.count(r.f)) continue;  // read-only data
    auto o = integer_offset(r.at.ops()[r.f->first_space()], x);
    auto kk = integer_offset(r.at.ops()[0], t);
    if (!o || !kk) return std::nullopt;
    // A sparse operation reads the corners of a cell: offsets o and o + 1.
    const std::int64_t lo = *o, hi = *o + (r.dense ? 0 : 1);
    std::optional<std::int64_t> oy;
    if (out.y_tiles) oy = integer_offset(r.at.ops()[r.f->first_space() + 1], g.dim(1));
    const std::int64_t j = (level[r.f] - *kk) * dir;  // steps since the level was written
    const std::int64_t nbuf = r.f->saved ? std::numeric_limits<std::int64_t>::max() : r.f->nbuf;
    if (j < 0 || j > nbuf) return std::nullopt;
    if (j == 0 || j == nbuf) {
      // The level this step writes (or overwrites in place): at the point itself, in the
      // dense nest.
      if (lo != 0 || hi != 0 || !r.dense) return std::nullopt;
      if (oy != std::optional<std::int64_t>(0)) out.y_tiles = false;
      if (j == nbuf) in_place.insert(r.f);
      continue;
    }
    out.reach = std::max({out.reach, std::abs(lo), std::abs(hi)});
    if (oy)
      out.reach_y = std::max({out.reach_y, std::abs(*oy), std::abs(*oy + (r.dense ? 0 : 1))});
    else
      out.y_tiles = false;
    // Within (B - j) R of the point before its overwrite: holds for any reach when B - j >= 1.
  }
  for (const auto &[f, w] : level) out.unread_level |= !in_place.count(f);
  return out;
}

// Bytes of one time level of every field the kernel touches.
std::size_t level_bytes(const Kernel &k) {
  std::size_t n = 0;
  for (const auto &f : k.fields)
    if (f->on_grid()) n += f->buffer_count() * f->element_size();
  return n;
}

// The index along space dimension `d` a sparse statement is owned by: its target's (injection)
// or its cell's (interpolation: the corner indices are c and c + 1).
std::optional<Expr> owner_of(const Stmt &st, int d) {
  auto index = [&](const Expr &a) -> std::optional<Expr> {
    const FieldData *f = field_of(a);
    if (!f || !f->on_grid()) return std::nullopt;
    return a.ops()[f->first_space() + static_cast<std::size_t>(d)];
  };
  if (auto i = index(st->lhs)) return i;
  std::vector<Expr> idx;
  for (const Expr &a : accesses(st->rhs))
    if (auto i = index(a)) idx.push_back(*i);
  for (const Expr &c : idx) {
    bool lowest = true;
    for (const Expr &o : idx) {
      Expr diff = o - c;
      lowest &= diff == Expr(0) || diff == Expr(1);
    }
    if (lowest) return c;
  }
  return std::nullopt;
}

// One tiled dimension: its range [lo, hi] and the part [part_lo, part_hi] of a tile step.
struct Cut {
  Expr lo, hi, part_lo, part_hi;
};

class Tiler : public IRMutator {
 public:
  Tiler(const Kernel &k, std::int64_t reach, bool stages) : k_(k), g_(*k.grid), reach_(reach), stages_(stages) {}
  bool ok = true;
  std::int64_t width = 0;  // of a tile, along x
  std::int64_t block_skew = 0;  // how far a tile's part moves over a block
  Expr tile_var;

  Stmt visit_For(const Stmt &s) override {
    if (s->for_kind != ForKind::Time) return IRMutator::visit_For(s);
    // The step body: one dense nest (a Parallel loop), sparse loops (Serial), definitions.
    Stmt dense;
    walk(s->body[0], [&](const Stmt &x) {
      if (x.kind() != StmtKind::For) return;
      if (x->for_kind == ForKind::Parallel) {
        if (dense.defined() && !(dense == x)) ok = false;
        dense = x;
      }
    });
    if (!ok || !dense.defined()) {
      ok = false;
      return s;
    }
    const Expr t = s->var;
    const Expr tb = symbol(t->name + "_blk", SymbolKind::Index), te = symbol(t->name + "_blk_end", SymbolKind::Index);
    const std::string xn = g_.dim(0)->name, yn = g_.dim(1)->name;
    const Expr xt = symbol(xn + "_tile", SymbolKind::Index);
    cuts_ = {{dense->min, dense->max, symbol(xn + "_lo", SymbolKind::Index), symbol(xn + "_hi", SymbolKind::Index)}};
    if (stages_)
      cuts_.push_back({k_.int_arg(IntArg::Role::DimMin, 1)->symbol, k_.int_arg(IntArg::Role::DimMax, 1)->symbol,
                       symbol(yn + "_lo", SymbolKind::Index), symbol(yn + "_hi", SymbolKind::Index)});
    width = std::max<std::int64_t>(16, 4 * reach_);
    const Expr step_in_block = s->backward ? tb - t : t - tb;
    const Expr skew = step_in_block * Expr(reach_);
    // The step's body with the dense nest restricted to the tile's part and the sparse loops
    // guarded, on one thread (in stages, that of the tile's stage).
    Stmt body = restructure(s->body[0], dense);
    if (!ok) return s;
    std::vector<Stmt> step = {
        make_comment(xn + " part of this tile at this step: skewed by " + std::to_string(reach_) +
                     " per step (the stencil's reach)"),
        make_define(cuts_[0].part_lo, max(cuts_[0].lo, xt - skew), true),
        make_define(cuts_[0].part_hi, min(cuts_[0].hi, xt + Expr(width - 1) - skew), true)};
    const Expr yt = symbol(yn + "_tile", SymbolKind::Index), yt_end = symbol(yn + "_tile_end", SymbolKind::Index);
    if (stages_) {
      step.push_back(make_comment(yn + " part: the same skew"));
      step.push_back(make_define(cuts_[1].part_lo, max(cuts_[1].lo, yt - skew), true));
      step.push_back(make_define(cuts_[1].part_hi, min(cuts_[1].hi, yt_end - Expr(1) - skew), true));
    }
    step.push_back(body);
    Stmt time_loop = s->backward ? make_for(t, te, tb, make_block(step), ForKind::Time, Expr(1), true)
                                 : make_for(t, tb, te, make_block(step), ForKind::Time, Expr(1), false);
    const int steps = steps_per_tile(g_);
    block_skew = (steps - 1) * reach_;
    const Expr skew_end = Expr(block_skew);
    if (stages_) {
      // Tiles at least (T + 1) R wide, so that two tiles with a whole tile between them touch
      // disjoint rows over a block of T steps.
      const std::int64_t least = least_stage_width(g_, reach_);
      auto n = std::make_shared<StmtNode>(*make_for(yt, cuts_[1].lo, cuts_[1].hi + skew_end, time_loop,
                                                    ForKind::Stages, Expr(stage_tile_width(g_, reach_)))
                                                .get());
      n->lhs = yt_end;
      n->rhs = Expr(least);
      time_loop = Stmt(std::move(n));
    }
    tile_var = xt;
    Stmt tiles = make_for(xt, cuts_[0].lo, cuts_[0].hi + skew_end, time_loop, ForKind::Serial, Expr(width));
    Stmt block_end = make_define(te, s->backward ? max(s->min, tb - Expr(steps - 1)) : min(s->max, tb + Expr(steps - 1)),
                                 true);
    const std::string what = stages_ ? "run tile by tile along " + xn + " and, pipelined across the threads, along " + yn
                                     : "run tile by tile along " + xn;
    return make_block({make_comment("time tiles: blocks of " + std::to_string(steps) + " steps, " + what + " (tiles " +
                                    std::to_string(width) + " wide)"),
                       make_for(tb, s->min, s->max, make_block({block_end, tiles}), ForKind::TimeTiles, Expr(steps),
                                s->backward)});
  }

 private:
  Stmt restructure(const Stmt &b, const Stmt &dense) {
    class R : public IRMutator {
     public:
      R(Tiler &t, const Stmt &dense) : t_(t), dense_(dense) {}
      Stmt visit_For(const Stmt &s) override {
        if (s == dense_) return t_.restrict_dense(s);
        if (s->for_kind == ForKind::Serial) return t_.guard_sparse(s);
        t_.ok = false;
        return s;
      }
      Tiler &t_;
      Stmt dense_;
    } r(*this, dense);
    return r.mutate(b);
  }

  // The dense nest over the tile's part: its outer loop (x or x blocks) from x_lo to x_hi,
  // the point loop over x within its block and x_hi. Pipelined, the thread runs the nest
  // alone and its y loops (blocks, points) keep to y_lo..y_hi.
  Stmt restrict_dense(const Stmt &s) {
    const Expr x = g_.dim(0);
    const Cut &cx = cuts_[0];
    const ForKind kind = stages_ ? ForKind::Serial : s->for_kind;
    const int collapse = stages_ ? 1 : s->collapse;
    Stmt body = s->body[0];
    if (!(s->var == x)) {
      const Expr blk = s->var, size = s->step;
      class Inner : public IRMutator {
       public:
        Inner(Expr x, Expr blk, Expr size, Expr hi) : x_(x), blk_(blk), size_(size), hi_(hi) {}
        Stmt visit_For(const Stmt &s) override {
          if (!(s->var == x_)) return IRMutator::visit_For(s);
          found = true;
          return make_for(s->var, s->min, min(blk_ + size_ - Expr(1), hi_), s->body[0], s->for_kind, s->step,
                          s->backward, s->collapse);
        }
        Expr x_, blk_, size_, hi_;
        bool found = false;
      } inner(x, blk, size, cx.part_hi);
      body = inner.mutate(body);
      if (!inner.found) ok = false;
    }
    if (stages_) {
      class YBounds : public IRMutator {
       public:
        explicit YBounds(const Cut &c) : map_{{c.lo, c.part_lo}, {c.hi, c.part_hi}} {}
        Stmt visit_For(const Stmt &s) override {
          Stmt b = mutate(s->body[0]);
          return make_for(s->var, substitute(s->min, map_), substitute(s->max, map_), b, s->for_kind, s->step,
                          s->backward, s->collapse);
        }
        ExprMap map_;
      } ybounds(cuts_[1]);
      body = ybounds.mutate(body);
    }
    return make_for(s->var, cx.part_lo, cx.part_hi, body, kind, s->step, s->backward, collapse);
  }

  // A sparse loop, each statement in the tile step whose part owns it: on one thread, or
  // pipelined on the thread of that part. Where a point's statements are owned at constant
  // offsets of one index per dimension (a cell's corners), the point is first tested once,
  // against the part widened by those offsets (one test per point instead of one per corner),
  // and the loop carries its lowest and highest owner along x (lhs, rhs): codegen lists each x
  // tile's points from them, so that a tile step visits its own instead of testing all (2D
  // 2001^2 order 4, 1961 receivers, 126 tiles a step: 200 steps of the gradient's reverse
  // 0.44-0.57 s against 0.55-0.70 s, median 0.48 against 0.58; the forward with the
  // receivers, median of the per-round ratios 0.91).
  Stmt guard_sparse(const Stmt &s) {
    std::vector<Stmt> out;
    const int nd = static_cast<int>(cuts_.size());
    std::vector<std::optional<Expr>> base(static_cast<std::size_t>(nd));
    std::vector<std::int64_t> lo(static_cast<std::size_t>(nd), 0), hi(static_cast<std::size_t>(nd), 0);
    bool constant = true;
    int statements = 0;
    for (const Stmt &st : s->body[0]->body) {
      if (st.kind() != StmtKind::Assign) {
        out.push_back(st);
        continue;
      }
      ++statements;
      Stmt guarded = st;
      for (int d = nd - 1; d >= 0; --d) {
        const auto i = static_cast<std::size_t>(d);
        auto owner = owner_of(st, d);
        if (!owner) {
          ok = false;
          return s;
        }
        if (!base[i]) base[i] = *owner;
        if (auto off = integer_offset(*owner, *base[i])) {
          lo[i] = std::min(lo[i], *off);
          hi[i] = std::max(hi[i], *off);
        } else {
          constant = false;
        }
        const Cut &c = cuts_[i];
        guarded = make_guard(*owner, c.part_lo, c.part_hi, c.lo, c.hi, guarded);
      }
      out.push_back(guarded);
    }
    Stmt body = make_block(std::move(out));
    // The statements keep their own guards: this one only skips points none of them can pass
    // (for one statement, an interpolation, it would repeat that statement's guard).
    if (statements > 1 && constant)
      for (int d = nd - 1; d >= 0; --d) {
        const auto i = static_cast<std::size_t>(d);
        const Cut &c = cuts_[i];
        body = make_guard(*base[i], c.part_lo - Expr(hi[i]), c.part_hi - Expr(lo[i]), c.lo - Expr(hi[i]),
                          c.hi - Expr(lo[i]), body);
      }
    Stmt loop = make_for(s->var, s->min, s->max, body, stages_ ? ForKind::Serial : ForKind::Single, s->step,
                         s->backward, s->collapse);
    if (!constant || !base[0]) return loop;
    // The lowest and highest owner along x, for codegen/CodeGenC.cpp to list each x tile's
    // points once per call (a step then visits those only).
    auto n = std::make_shared<StmtNode>(*loop.get());
    n->lhs = *base[0] + Expr(lo[0]);
    n->rhs = *base[0] + Expr(hi[0]);
    return Stmt(std::move(n));
  }

  const Kernel &k_;
  const Grid &g_;
  std::int64_t reach_;
  bool stages_;
  std::vector<Cut> cuts_;
};

}  // namespace

void tile_time(Kernel &k, TimeTiling mode, int threads) {
  if (mode == TimeTiling::Never || !k.has_time || !k.grid || k.grid->ndim() < 2) return;
  // Worth it where a step's arrays do not fit in a last-level cache.
  if (mode == TimeTiling::Auto && level_bytes(k) <= (std::size_t(32) << 20)) return;
  const std::optional<Analysis> a = analyse(k);
  if (!a) return;
  // A level written but not read by the step (a saved history, three modulo buffers) is
  // better stored bypassing the caches (codegen/CodeGenC.cpp), which tiling rules out: the
  // next step of the tile would read it back from memory. In 3D that is worth as much as the
  // tiling: 256^3 order 8, a forward saving its history, 0.55 s streamed against 0.61-0.88 s
  // tiled 32 wide, 0.53-0.72 s 16 wide; with stages, same-process A/B over 9 rounds, the
  // gradient's forward part median 0.608 s streamed against 0.605 tiled (order 4: 0.437
  // against 0.512). In 2D tiling wins clearly: 2001^2 order 4, 200 steps, the forward part
  // median 0.505 s streamed against 0.359 s tiled (11 rounds; the whole gradient 0.924 against
  // 0.756 s, bitwise the same), order 8 0.498 against 0.474 s. Nor does a copy help: the state
  // advanced in place, tiled, beside a history written only by streaming stores (hist[t] =
  // u[t] fused into the nest) ran 1.24-1.33x the in-place forward at 256^3 order 8, as the
  // streamed forward does, and 1.5-1.7x in 2D against 1.25-1.3x tiled: what the history costs
  // is writing it (without that store the same kernel ran 0.97-1.0x).
  if (mode == TimeTiling::Auto && a->unread_level && k.grid->ndim() > 2) return;
  // Stages along y where every thread gets one at least (T + 1) R wide (a single thread gains
  // nothing from them); both dimensions then skew by the larger reach.
  if (threads <= 0) threads = omp_get_max_threads();
  const std::int64_t reach_xy = std::max(a->reach, a->reach_y);
  const bool stages = a->y_tiles && threads > 1 &&
                      (k.grid->shape()[1] + (steps_per_tile(*k.grid) - 1) * reach_xy) / least_stage_width(*k.grid, reach_xy) >=
                          static_cast<std::int64_t>(threads);
  // More threads than processors: the threads sharing a tile step wait at its barrier for
  // others that are not running (2D 2001^2 order 4, 4 threads on 2 cores: 0.47 Gpts/s tiled
  // against 1.67 untiled, one barrier per step). Stages wait only on their neighbours, once a
  // tile (3D 256^3 order 8, same: 0.99 against 0.97).
  if (mode == TimeTiling::Auto && !stages && threads > omp_get_num_procs()) return;
  const std::int64_t reach = stages ? reach_xy : a->reach;
  // Wider stencils are bound by their arithmetic more than by memory, and the skew grows with
  // the reach: 256^3, forward in place, interleaved with untiled: order 4 +50-55% (1.70-1.77 ->
  // 2.65-2.76 Gpts/s, 1.3x the streaming baseline), order 8 +13% (median of 4), order 12 +7%
  // (within this machine's noise; see the tile width above).
  if (mode == TimeTiling::Auto && reach > 4) return;
  Tiler t(k, reach, stages);
  Stmt body = t.mutate(k.body);
  if (!t.ok) return;
  k.body = body;
  k.time_tiled = true;
  k.tile_width = t.width;
  k.tile_stages = stages;
  k.tile_var = t.tile_var;
  k.tile_skew = t.block_skew;
}

}  // namespace tenet
