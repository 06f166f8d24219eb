// One lane of the multiply-add tree: the products of two output channels' weights with one
// activation x (x = q - z, signed AB+1 bits). MODE 0 fixed-point, 1 power-of-two, 2 SP2.
//  - MODE 0, WB > 4: the two products share x in one DSP48E1 (25x18): A = (w1 << 16) + w0,
//    P = A*x; |w0*x| < 2^15 so P[15:0] is w0*x exactly and (P - p0) >> 16 is w1*x. No guard bits
//    are left for in-DSP accumulation, so the tree adds the split products (Xilinx WP486 packs
//    with guard bits on the 27x18 DSP48E2; the 25x18 DSP48E1 leaves room for 16-bit fields only).
//  - MODE 0, WB <= 4: LUT multipliers (use_dsp="no").
//  - MODE 1: code = {sign, e} (e = 0: zero, else magnitude 2^(e-1)): one barrel shift.
//  - MODE 2: code = {sign, i1 (M1 bits), i2 (M2 bits)}: magnitude 2^(D-i1) + 2^(D-i2) (0 for
//    index 0), D = 2^M1 - 1: two shifts and an add.
module ohq_pe #(
    parameter int MODE = 0,
    parameter int WB = 8,
    parameter int AB = 8,
    parameter int M1 = 2,
    parameter int M2 = 1
) (
    input  logic [WB-1:0]        w0,
    input  logic [WB-1:0]        w1,
    input  logic signed [AB:0]   x,
    output logic signed [31:0]   p0,
    output logic signed [31:0]   p1
);
  localparam int D = (1 << M1) - 1;

  function automatic logic signed [31:0] shift_prod(input logic [WB-1:0] c, input logic signed [AB:0] xv);
    logic signed [31:0] xs, mag;
    logic [WB-2:0] e;
    logic [M1-1:0] i1;
    logic [(M2>0?M2:1)-1:0] i2;
    xs = {{(31-AB){xv[AB]}}, xv};
    mag = 0;
    if (MODE == 1) begin
      e = c[WB-2:0];
      mag = (e == 0) ? 32'sd0 : (xs <<< (e - 1));
    end else begin
      i1 = c[WB-2 -: M1];
      i2 = (M2 > 0) ? c[(M2>0?M2:1)-1:0] : '0;
      mag = ((i1 == 0) ? 32'sd0 : (xs <<< (D - i1)))
          + ((M2 == 0 || i2 == 0) ? 32'sd0 : (xs <<< (D - i2)));
    end
    shift_prod = c[WB-1] ? -mag : mag;
  endfunction

  generate
    if (MODE == 0 && WB > 4) begin : g_dsp
      logic signed [24:0] a;
      logic signed [17:0] b;
      logic signed [42:0] prod;
      logic signed [15:0] lo;
      assign a = ({{(25-WB){w1[WB-1]}}, w1} <<< 16) + {{(25-WB){w0[WB-1]}}, w0};
      assign b = {{(17-AB){x[AB]}}, x};
      assign prod = a * b;
      assign lo = prod[15:0];
      assign p0 = {{16{lo[15]}}, lo};
      assign p1 = 32'($signed(prod - $signed({{27{lo[15]}}, lo})) >>> 16);
    end else if (MODE == 0) begin : g_lut
      (* use_dsp = "no" *) logic signed [WB+AB:0] q0, q1;
      assign q0 = $signed(w0) * x;
      assign q1 = $signed(w1) * x;
      assign p0 = {{(31-WB-AB){q0[WB+AB]}}, q0};
      assign p1 = {{(31-WB-AB){q1[WB+AB]}}, q1};
    end else begin : g_shift
      assign p0 = shift_prod(w0, x);
      assign p1 = shift_prod(w1, x);
    end
  endgenerate
endmodule
