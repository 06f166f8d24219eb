// A simple-dual-port memory: one write port, one synchronous read port, one clock, so yosys maps
// it onto RAMB18/RAMB36 (BLOCK = 1 forces block RAM) or distributed RAM. BYPASS = 1: a read of
// the address written in the same cycle returns the new word (the accumulator buffer's hand-off).
module ohq_ram #(
    parameter int W = 8,
    parameter int D = 256,
    parameter int BLOCK = 0,
    parameter int BYPASS = 0,
    localparam int AW = D > 1 ? $clog2(D) : 1
) (
    input  logic clk, we,
    input  logic [AW-1:0] wa, ra,
    input  logic [W-1:0] wd,
    output logic [W-1:0] q
);
  generate
    if (BLOCK != 0) begin : g_block
      (* ram_style = "block" *) logic [W-1:0] mem [D];
      always_ff @(posedge clk) begin
        if (we) mem[wa] <= wd;
        q <= mem[ra];
      end
    end else begin : g_auto
      logic [W-1:0] mem [D];
      always_ff @(posedge clk) begin
        if (we) mem[wa] <= wd;
        q <= (BYPASS != 0 && we && wa == ra) ? wd : mem[ra];
      end
    end
  endgenerate
endmodule
