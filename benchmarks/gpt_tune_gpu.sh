#!/bin/sh
# The grids behind the GPT recipes (fromax/lab/_recipes.py), run on a GPU:
# sh benchmarks/gpt_tune_gpu.sh OUTDIR. Each line is one compiled program.
out=${1:-.}
t() { name=$1; shift; timeout "${TIMEOUT:-150}" python3 benchmarks/gpt_tune.py "$@" --json "$out/$name.json" 2>&1 | grep -v Warning; }
t muon_cosine muon --grid learning_rate=0.02,0.03,0.04,0.06 --grid adam_learning_rate=3e-3,6e-3,1e-2,2e-2
t muon_wsd muon --schedule wsd --grid learning_rate=0.02,0.03,0.04,0.06 --grid adam_learning_rate=3e-3,6e-3,1e-2,2e-2
t adamw_seeds adamw --seeds 0,1,2 --grid learning_rate=3e-3,6e-3
t fromage fromage --grid learning_rate=0.002,0.005,0.01,0.02,0.05
t scion scion --grid learning_rate=1e-4,2e-4,4e-4,8e-4 --grid radius=25,50,100
# Second round, around the first's best points.
t muon_low muon --grid learning_rate=0.008,0.011,0.015 --grid adam_learning_rate=3e-3,6e-3 --grid momentum=0.9,0.95
t fromage2 fromage --grid learning_rate=0.015,0.02,0.03
t muon_wd muon --grid learning_rate=0.015 --grid adam_learning_rate=6e-3 --grid momentum=0.9 --grid weight_decay=0,0.1,0.3,1.0 --grid adam_weight_decay=0,0.1
# Third round, on 2 CPU cores (TIMEOUT=3600; a lane of 2,000 steps takes 7-9 minutes there):
# optax's defaults where the recipes differ, and the initialisation's scales.
t cpu_adamw_every_leaf adamw_every_leaf
t cpu_muon_every_matrix muon_every_matrix
t cpu_muon_init_1000 muon --steps 1000 --eval-every 250 --grid embed_scale=1,50 --grid head_scale=1,0
t cpu_muon_momentum98 muon --grid learning_rate=0.008,0.011,0.015 --grid momentum=0.98 --grid adam_learning_rate=6e-3
