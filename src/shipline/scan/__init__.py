"""scan-gate: SAST, SCA, container, secret, misconfiguration and policy gates behind one threshold."""
