;; The Cholesky factorisation and the solves a multivariate normal's log-density and gradient need, as WebAssembly:
;; the same floating-point operations in the same order as linalg.ts's cholesky, solveLower, solveUpperT and
;; inverseFromCholesky, so the results are bit for bit theirs (test/model/linalg-wasm.test.ts holds them equal), without
;; the bounds check and loop overhead that bound the JavaScript loops at the sizes Gaussian processes have (n ≈ 10–100).
;; Assembled into linalg-wasm-binary.ts by scripts/assemble-wat.ts; used by linalg-wasm.ts.
;;
;; Matrices are row-major n × n doubles, vectors n doubles; every address is a byte offset into the imported memory.
(module
  (import "env" "memory" (memory 1))

  ;; L, lower triangular with L Lᵀ = K (the upper triangle zeroed); 0 when K is not positive definite (a pivot ≤ 0 or NaN).
  (func $cholesky (param $K i32) (param $L i32) (param $n i32) (result i32)
    (local $nb i32) (local $j i32) (local $rowJ i32) (local $rowI i32) (local $rowEnd i32) (local $p i32) (local $q i32)
    (local $end i32) (local $s f64) (local $d f64)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (memory.fill (local.get $L) (i32.const 0) (i32.mul (local.get $nb) (local.get $n)))
    (local.set $rowEnd (i32.add (local.get $L) (i32.mul (local.get $nb) (local.get $n))))
    (local.set $j (i32.const 0))
    (block $columnsDone
      (loop $columns
        (br_if $columnsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $rowJ (i32.add (local.get $L) (i32.mul (local.get $j) (local.get $nb))))
        (local.set $end (i32.add (local.get $rowJ) (i32.shl (local.get $j) (i32.const 3))))
        ;; s = K[j, j] − Σₖ₍ₖ<ⱼ₎ L[j, k]²
        (local.set $s (f64.load (i32.add (i32.add (local.get $K) (i32.mul (local.get $j) (local.get $nb))) (i32.shl (local.get $j) (i32.const 3)))))
        (local.set $p (local.get $rowJ))
        (block $diagonalDone
          (loop $diagonal
            (br_if $diagonalDone (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $s (f64.sub (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br $diagonal)))
        (if (i32.eqz (f64.gt (local.get $s) (f64.const 0))) (then (return (i32.const 0))))
        (local.set $d (f64.sqrt (local.get $s)))
        (f64.store (local.get $end) (local.get $d))
        ;; L[i, j] = (K[i, j] − Σₖ₍ₖ<ⱼ₎ L[i, k]·L[j, k]) / L[j, j] for the rows i below j
        (local.set $rowI (i32.add (local.get $rowJ) (local.get $nb)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $rowI) (local.get $rowEnd)))
            (local.set $s (f64.load (i32.add (i32.add (local.get $K) (i32.sub (local.get $rowI) (local.get $L))) (i32.shl (local.get $j) (i32.const 3)))))
            (local.set $p (local.get $rowI))
            (local.set $q (local.get $rowJ))
            (block $dotDone
              (loop $dot
                (br_if $dotDone (i32.ge_u (local.get $q) (local.get $end)))
                (local.set $s (f64.sub (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q)))))
                (local.set $p (i32.add (local.get $p) (i32.const 8)))
                (local.set $q (i32.add (local.get $q) (i32.const 8)))
                (br $dot)))
            (f64.store (local.get $p) (f64.div (local.get $s) (local.get $d)))
            (local.set $rowI (i32.add (local.get $rowI) (local.get $nb)))
            (br $rows)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns)))
    (i32.const 1))

  ;; z with L z = b (forward substitution).
  (func $solveLower (param $L i32) (param $b i32) (param $z i32) (param $n i32)
    (local $nb i32) (local $i i32) (local $rowI i32) (local $p i32) (local $q i32) (local $end i32) (local $s f64)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $rowI (i32.add (local.get $L) (i32.mul (local.get $i) (local.get $nb))))
        (local.set $end (i32.add (local.get $rowI) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $s (f64.load (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $p (local.get $rowI))
        (local.set $q (local.get $z))
        (block $dotDone
          (loop $dot
            (br_if $dotDone (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $s (f64.sub (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q)))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (br $dot)))
        (f64.store (local.get $q) (f64.div (local.get $s) (f64.load (local.get $end))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; x with Lᵀ x = z (back substitution).
  (func $solveUpperT (param $L i32) (param $z i32) (param $x i32) (param $n i32)
    (local $nb i32) (local $i i32) (local $p i32) (local $q i32) (local $end i32) (local $s f64)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (local.set $end (i32.add (local.get $x) (local.get $nb)))
    (local.set $i (local.get $n))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (local.set $s (f64.load (i32.add (local.get $z) (i32.shl (local.get $i) (i32.const 3)))))
        ;; Σₖ₍ₖ>ᵢ₎ L[k, i]·x[k]: down column i of L from row i + 1
        (local.set $p (i32.add (i32.add (local.get $L) (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $nb))) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $q (i32.add (local.get $x) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 3))))
        (block $dotDone
          (loop $dot
            (br_if $dotDone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $s (f64.sub (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q)))))
            (local.set $p (i32.add (local.get $p) (local.get $nb)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (br $dot)))
        (f64.store (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (local.get $s) (f64.load (i32.add (i32.add (local.get $L) (i32.mul (local.get $i) (local.get $nb))) (i32.shl (local.get $i) (i32.const 3))))))
        (br $next))))

  ;; K⁻¹ = (L⁻¹)ᵀ L⁻¹, with L⁻¹ (lower triangular) formed column by column in W.
  (func $inverseFromCholesky (param $L i32) (param $inv i32) (param $W i32) (param $n i32)
    (local $nb i32) (local $i i32) (local $j i32) (local $rowI i32) (local $p i32) (local $q i32) (local $end i32)
    (local $column i32) (local $s f64)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (memory.fill (local.get $W) (i32.const 0) (i32.mul (local.get $nb) (local.get $n)))
    (local.set $j (i32.const 0))
    (block $columnsDone
      (loop $columns
        (br_if $columnsDone (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $column (i32.shl (local.get $j) (i32.const 3)))
        ;; W[j, j] = 1 / L[j, j]
        (f64.store (i32.add (i32.add (local.get $W) (i32.mul (local.get $j) (local.get $nb))) (local.get $column))
          (f64.div (f64.const 1) (f64.load (i32.add (i32.add (local.get $L) (i32.mul (local.get $j) (local.get $nb))) (local.get $column)))))
        ;; W[i, j] = −Σₖ₍ⱼ≤ₖ<ᵢ₎ L[i, k]·W[k, j] / L[i, i] for the rows i below j
        (local.set $i (i32.add (local.get $j) (i32.const 1)))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $rowI (i32.add (local.get $L) (i32.mul (local.get $i) (local.get $nb))))
            (local.set $end (i32.add (local.get $rowI) (i32.shl (local.get $i) (i32.const 3))))
            (local.set $s (f64.const 0))
            (local.set $p (i32.add (local.get $rowI) (local.get $column)))
            (local.set $q (i32.add (i32.add (local.get $W) (i32.mul (local.get $j) (local.get $nb))) (local.get $column)))
            (block $dotDone
              (loop $dot
                (br_if $dotDone (i32.ge_u (local.get $p) (local.get $end)))
                (local.set $s (f64.sub (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q)))))
                (local.set $p (i32.add (local.get $p) (i32.const 8)))
                (local.set $q (i32.add (local.get $q) (local.get $nb)))
                (br $dot)))
            ;; $q is now W[i, j]'s address, $end L[i, i]'s
            (f64.store (local.get $q) (f64.div (local.get $s) (f64.load (local.get $end))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns)))
    ;; inv[i, j] = inv[j, i] = Σₖ₍ₖ≥ᵢ₎ W[k, i]·W[k, j] for j ≤ i
    (local.set $end (i32.add (local.get $W) (i32.mul (local.get $n) (local.get $nb))))
    (local.set $i (i32.const 0))
    (block $iDone
      (loop $iNext
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $jDone
          (loop $jNext
            (br_if $jDone (i32.gt_u (local.get $j) (local.get $i)))
            (local.set $s (f64.const 0))
            (local.set $p (i32.add (i32.add (local.get $W) (i32.mul (local.get $i) (local.get $nb))) (i32.shl (local.get $i) (i32.const 3))))
            (local.set $q (i32.add (i32.add (local.get $W) (i32.mul (local.get $i) (local.get $nb))) (i32.shl (local.get $j) (i32.const 3))))
            (block $dotDone
              (loop $dot
                (br_if $dotDone (i32.ge_u (local.get $p) (local.get $end)))
                (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $p)) (f64.load (local.get $q)))))
                (local.set $p (i32.add (local.get $p) (local.get $nb)))
                (local.set $q (i32.add (local.get $q) (local.get $nb)))
                (br $dot)))
            (f64.store (i32.add (i32.add (local.get $inv) (i32.mul (local.get $i) (local.get $nb))) (i32.shl (local.get $j) (i32.const 3))) (local.get $s))
            (f64.store (i32.add (i32.add (local.get $inv) (i32.mul (local.get $j) (local.get $nb))) (i32.shl (local.get $i) (i32.const 3))) (local.get $s))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jNext)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iNext))))

  ;; A multivariate normal's factors at K and the residual r = y − μ: L (K = L Lᵀ), z = L⁻¹ r, α = K⁻¹ r = L⁻ᵀ z and,
  ;; when $withInverse is not 0, K⁻¹ (W is its workspace). 0, with nothing after L written, when K is not positive
  ;; definite.
  (func (export "gaussianFactors") (param $K i32) (param $r i32) (param $L i32) (param $z i32) (param $alpha i32)
    (param $inv i32) (param $W i32) (param $n i32) (param $withInverse i32) (result i32)
    (if (i32.eqz (call $cholesky (local.get $K) (local.get $L) (local.get $n))) (then (return (i32.const 0))))
    (call $solveLower (local.get $L) (local.get $r) (local.get $z) (local.get $n))
    (call $solveUpperT (local.get $L) (local.get $z) (local.get $alpha) (local.get $n))
    (if (local.get $withInverse) (then (call $inverseFromCholesky (local.get $L) (local.get $inv) (local.get $W) (local.get $n))))
    (i32.const 1))
)
