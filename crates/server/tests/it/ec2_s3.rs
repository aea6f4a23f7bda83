//! ec2 backend against moto: see the module docs of `ec2_backend`.
