`include "ohq_ports.svh"
// The multiply-add tree alone (L lanes x 2 channels and their two adder trees, registered), the
// unit yosys synthesizes per configuration for the engine's LUT/FF/DSP counts (ohq.hw.rtl.synth).
module ohq_tree #(
    parameter int L = 8, MODE = 0, WB = 8, AB = 8, M1 = 2, M2 = 1
) (
    input  logic clk,
    input  logic [L*WB-1:0] w0, w1,
    input  logic [L*(AB+1)-1:0] x,
    output logic signed [31:0] s0, s1
);
  logic signed [31:0] p0 [L], p1 [L];
  logic [L*WB-1:0] rw0, rw1;
  logic [L*(AB+1)-1:0] rx;
  genvar i;
  generate
    for (i = 0; i < L; i++) begin : g_lane
      ohq_pe #(.MODE(MODE), .WB(WB), .AB(AB), .M1(M1), .M2(M2)) pe (
          .w0(rw0[i*WB +: WB]), .w1(rw1[i*WB +: WB]), .x($signed(rx[i*(AB+1) +: AB+1])),
          .p0(p0[i]), .p1(p1[i]));
    end
  endgenerate
  localparam int TW = `OHQ_TREE_BITS(MODE, WB, AB, M1, L);  // as ohq_core's tree
  always_ff @(posedge clk) begin
    logic signed [TW-1:0] a0, a1;
    rw0 <= w0; rw1 <= w1; rx <= x;
    a0 = 0; a1 = 0;
    for (int j = 0; j < L; j++) begin a0 = a0 + TW'(p0[j]); a1 = a1 + TW'(p1[j]); end
    s0 <= a0; s1 <= a1;  // signed: sign-extends
  end
endmodule
