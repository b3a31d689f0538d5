# LoRA parity with llama.cpp (included from CMakeLists.txt, after its node / peers check):
# seeded random model + GGUF LoRA adapter (pagoda-make-test-model --lora-out), greedy tokens
# and last-position logits of `pagoda generate --lora lora.gguf[:SCALE]` against llama.cpp
# with the same adapter on its context. See lora_parity.mjs.
set(lora_runner ${CMAKE_CURRENT_SOURCE_DIR}/lora_parity.mjs)

# name | arch | type | seed | model shape | adapter options | scale
set(lora_cases
    "llama.f32|llama|f32|201||--lora-rank 8|1"
    "llama.f16|llama|f16|202||--lora-rank 8 --lora-targets q,k,v,o,down|1"
    "llama.f32.scale0.5|llama|f32|203||--lora-rank 8 --lora-alpha 8|0.5"
    "qwen2.f32|qwen2|f32|204|--heads 4 --kv-heads 2|--lora-rank 8|1"
    "qwen2.f16.scale0.5|qwen2|f16|205|--heads 4 --kv-heads 2|--lora-rank 8 --lora-targets q,k,o,gate,up --lora-dtype f16|0.5")

foreach(lora_case ${lora_cases})
    string(REPLACE "|" ";" parts "${lora_case}")
    list(GET parts 0 case_name)
    list(GET parts 1 arch)
    list(GET parts 2 type)
    list(GET parts 3 seed)
    list(GET parts 4 shape)
    list(GET parts 5 lora_args)
    list(GET parts 6 scale)
    add_test(NAME parity.llama_cpp.lora.${case_name}
        COMMAND ${PAGODA_NODE} ${lora_runner}
            --name ${case_name}
            --pagoda $<TARGET_FILE:pagoda>
            --make-model $<TARGET_FILE:pagoda-make-test-model>
            --work-dir ${work_dir}
            --threads ${PAGODA_PARITY_THREADS}
            --arch ${arch} --type ${type} --seed ${seed}
            --model-args "${shape}" --lora-args "${lora_args}" --scale ${scale})
    set_tests_properties(parity.llama_cpp.lora.${case_name} PROPERTIES
        LABELS parity
        TIMEOUT 180
        ENVIRONMENT "PAGODA_PEERS_DIR=${PAGODA_PEERS_DIR}")
endforeach()
