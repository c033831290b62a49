/* models/default.psm as bytes in the library (see model.c); PS_MODEL_FILE is its path. */
    .section .rodata
    .balign 16
    .globl ps_api_default_model
    .hidden ps_api_default_model
ps_api_default_model:
    .incbin PS_MODEL_FILE
    .globl ps_api_default_model_end
    .hidden ps_api_default_model_end
ps_api_default_model_end:
    .byte 0
    .section .note.GNU-stack, "", @progbits
