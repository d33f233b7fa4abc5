"""chromatic compiler: policy file -> Policy IR -> passes -> bit-packed blob (.cblob)."""
