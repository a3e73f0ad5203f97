;; The two products a dense design matrix needs in a log-density and its gradient — X·v forward and Xᵀ·a backward —
;; as two streaming passes over X, two doubles to a SIMD register (f64x2). Assembled into dense-kernel-wasm.ts by
;; scripts/assemble-dense-kernel.ts; used by dense-kernel.ts.
;;
;; X is row-major, `rows` × `stride` doubles (a caller may pass a block of its rows), `stride` a multiple of 4 (the columns past the model's are zero, and so
;; are the vector's entries past them). Addresses are byte offsets into the imported memory; nothing here allocates.
(module
  (import "env" "memory" (memory 1))

  ;; Σⱼ X[row, j]·v[j] for one row starting at $p, v at $v .. $vEnd, in two f64x2 sums.
  (func $rowDot (param $p i32) (param $v i32) (param $vEnd i32) (result f64)
    (local $s0 v128) (local $s1 v128)
    (loop $columns
      (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (v128.load (local.get $p)) (v128.load (local.get $v)))))
      (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $v)))))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $v (i32.add (local.get $v) (i32.const 32)))
      (br_if $columns (i32.lt_u (local.get $v) (local.get $vEnd))))
    (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
    (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))

  ;; out[i] = Σⱼ X[i, j]·v[j] for i < rows. Rows go in pairs so that each load of v serves two rows, and the pair's four
  ;; sums are four independent chains of adds (one chain waits on the latency of each add before it); an odd last row
  ;; goes alone.
  (func (export "product") (param $x i32) (param $v i32) (param $out i32) (param $rows i32) (param $stride i32)
    (local $bytes i32) (local $vEnd i32) (local $p i32) (local $q i32) (local $o i32) (local $outPairsEnd i32)
    (local $b0 v128) (local $b1 v128) (local $r0 v128) (local $r1 v128) (local $t0 v128) (local $t1 v128)
    (local.set $bytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $vEnd (i32.add (local.get $v) (local.get $bytes)))
    (local.set $p (local.get $x))
    (local.set $o (local.get $out))
    (local.set $outPairsEnd (i32.add (local.get $out) (i32.shl (i32.and (local.get $rows) (i32.const -2)) (i32.const 3))))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.ge_u (local.get $o) (local.get $outPairsEnd)))
        (local.set $r0 (v128.const f64x2 0 0))
        (local.set $r1 (v128.const f64x2 0 0))
        (local.set $t0 (v128.const f64x2 0 0))
        (local.set $t1 (v128.const f64x2 0 0))
        (local.set $q (local.get $v))
        (loop $columns
          (local.set $b0 (v128.load (local.get $q)))
          (local.set $b1 (v128.load offset=16 (local.get $q)))
          (local.set $r0 (f64x2.add (local.get $r0) (f64x2.mul (v128.load (local.get $p)) (local.get $b0))))
          (local.set $r1 (f64x2.add (local.get $r1) (f64x2.mul (v128.load offset=16 (local.get $p)) (local.get $b1))))
          (local.set $t0 (f64x2.add (local.get $t0)
            (f64x2.mul (v128.load (i32.add (local.get $p) (local.get $bytes))) (local.get $b0))))
          (local.set $t1 (f64x2.add (local.get $t1)
            (f64x2.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $bytes))) (local.get $b1))))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $columns (i32.lt_u (local.get $q) (local.get $vEnd))))
        (local.set $r0 (f64x2.add (local.get $r0) (local.get $r1)))
        (local.set $t0 (f64x2.add (local.get $t0) (local.get $t1)))
        (f64.store (local.get $o) (f64.add (f64x2.extract_lane 0 (local.get $r0)) (f64x2.extract_lane 1 (local.get $r0))))
        (f64.store offset=8 (local.get $o) (f64.add (f64x2.extract_lane 0 (local.get $t0)) (f64x2.extract_lane 1 (local.get $t0))))
        ;; $p has moved along the first row of the pair; skip the second.
        (local.set $p (i32.add (local.get $p) (local.get $bytes)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $pairs)))
    (if (i32.and (local.get $rows) (i32.const 1))
      (then (f64.store (local.get $o) (call $rowDot (local.get $p) (local.get $v) (local.get $vEnd))))))

  ;; out[j .. j + 8) += Σᵢ a[i]·X[i, j .. j + 8) for the block of columns starting at $p (in the first row), a at
  ;; $a .. $aEnd: four f64x2 sums, one per pair of columns.
  (func $columns8 (param $p i32) (param $a i32) (param $aEnd i32) (param $bytes i32) (param $out i32)
    (local $s v128) (local $u v128) (local $q i32) (local $pairsEnd i32) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    ;; Rows in pairs, the pair's two products added before they join the sum: half as many dependent adds per sum.
    (local.set $pairsEnd (i32.sub (local.get $aEnd) (i32.and (i32.sub (local.get $aEnd) (local.get $a)) (i32.const 8))))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.ge_u (local.get $a) (local.get $pairsEnd)))
        (local.set $q (i32.add (local.get $p) (local.get $bytes)))
        (local.set $s (v128.load64_splat (local.get $a)))
        (local.set $u (v128.load64_splat offset=8 (local.get $a)))
        (local.set $c0 (f64x2.add (local.get $c0)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=0 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=0 (local.get $q))))))
        (local.set $c1 (f64x2.add (local.get $c1)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=16 (local.get $q))))))
        (local.set $c2 (f64x2.add (local.get $c2)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=32 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=32 (local.get $q))))))
        (local.set $c3 (f64x2.add (local.get $c3)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=48 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=48 (local.get $q))))))
        (local.set $p (i32.add (local.get $q) (local.get $bytes)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (br $pairs)))
    ;; An odd last row.
    (if (i32.lt_u (local.get $a) (local.get $aEnd))
      (then
        (local.set $s (v128.load64_splat (local.get $a)))
        (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load offset=0 (local.get $p)))))
        (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $p)))))
        (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $s) (v128.load offset=32 (local.get $p)))))
        (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $s) (v128.load offset=48 (local.get $p)))))))
    (v128.store (local.get $out) (f64x2.add (v128.load (local.get $out)) (local.get $c0)))
    (v128.store offset=16 (local.get $out) (f64x2.add (v128.load offset=16 (local.get $out)) (local.get $c1)))
    (v128.store offset=32 (local.get $out) (f64x2.add (v128.load offset=32 (local.get $out)) (local.get $c2)))
    (v128.store offset=48 (local.get $out) (f64x2.add (v128.load offset=48 (local.get $out)) (local.get $c3))))

  ;; As $columns8, for a block of four columns.
  (func $columns4 (param $p i32) (param $a i32) (param $aEnd i32) (param $bytes i32) (param $out i32)
    (local $s v128) (local $u v128) (local $q i32) (local $pairsEnd i32) (local $c0 v128) (local $c1 v128)
    ;; Rows in pairs, the pair's two products added before they join the sum: half as many dependent adds per sum.
    (local.set $pairsEnd (i32.sub (local.get $aEnd) (i32.and (i32.sub (local.get $aEnd) (local.get $a)) (i32.const 8))))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.ge_u (local.get $a) (local.get $pairsEnd)))
        (local.set $q (i32.add (local.get $p) (local.get $bytes)))
        (local.set $s (v128.load64_splat (local.get $a)))
        (local.set $u (v128.load64_splat offset=8 (local.get $a)))
        (local.set $c0 (f64x2.add (local.get $c0)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=0 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=0 (local.get $q))))))
        (local.set $c1 (f64x2.add (local.get $c1)
          (f64x2.add (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $p))) (f64x2.mul (local.get $u) (v128.load offset=16 (local.get $q))))))
        (local.set $p (i32.add (local.get $q) (local.get $bytes)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (br $pairs)))
    ;; An odd last row.
    (if (i32.lt_u (local.get $a) (local.get $aEnd))
      (then
        (local.set $s (v128.load64_splat (local.get $a)))
        (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $s) (v128.load offset=0 (local.get $p)))))
        (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $s) (v128.load offset=16 (local.get $p)))))))
    (v128.store (local.get $out) (f64x2.add (v128.load (local.get $out)) (local.get $c0)))
    (v128.store offset=16 (local.get $out) (f64x2.add (v128.load offset=16 (local.get $out)) (local.get $c1))))

  ;; out[j] += Σᵢ a[i]·X[i, j] for j < stride (rows ≥ 1): column blocks of 8, then one of 4 when stride is 4 mod 8. A
  ;; block's sums stay in registers over all rows (no store per row), and its reads of X go down the rows at a fixed
  ;; stride, which the hardware prefetcher follows. Adds rather than stores, so that a gradient can be summed over
  ;; blocks of rows.
  (func (export "transposedProduct") (param $x i32) (param $a i32) (param $out i32) (param $rows i32) (param $stride i32)
    (local $bytes i32) (local $aEnd i32) (local $j i32) (local $offset i32)
    (local.set $bytes (i32.shl (local.get $stride) (i32.const 3)))
    (local.set $aEnd (i32.add (local.get $a) (i32.shl (local.get $rows) (i32.const 3))))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $stride)))
        (local.set $offset (i32.shl (local.get $j) (i32.const 3)))
        (call $columns8 (i32.add (local.get $x) (local.get $offset)) (local.get $a) (local.get $aEnd) (local.get $bytes)
          (i32.add (local.get $out) (local.get $offset)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $blocks)))
    (if (i32.lt_u (local.get $j) (local.get $stride))
      (then
        (local.set $offset (i32.shl (local.get $j) (i32.const 3)))
        (call $columns4 (i32.add (local.get $x) (local.get $offset)) (local.get $a) (local.get $aEnd) (local.get $bytes)
          (i32.add (local.get $out) (local.get $offset))))))
)
