const path='/work/main/out/daemon/';
const {runTiledPass}=require(path+'engine/tiled-pass.js');
const {sessionInference}=require(path+'runtime/inference.js');
const {sessionOptions}=require(path+'runtime/providers.js');
const ort=require('onnxruntime-node'); const sharp=require('sharp');
(async()=>{
 const s=await ort.InferenceSession.create(`/root/.cache/upscale/models/realesrgan-x4plus.onnx`, sessionOptions('cpu')); const infer=sessionInference(s);
 // same 64x64 input run alone vs embedded: compare tile 64 run twice (determinism) and a 64 crop
 const n=64*64; const a=new Float32Array(3*n); for(let i=0;i<a.length;i++) a[i]=(Math.sin(i*0.37)+1)/2;
 const r1=await infer({width:64,height:64,channels:3,data:a}); const r2=await infer({width:64,height:64,channels:3,data:a});
 let m=0; for(let i=0;i<r1.data.length;i++) m=Math.max(m,Math.abs(r1.data[i]-r2.data[i])); console.log('determinism maxdiff',m);
 const b=new Float32Array(3*80*80); for(let c=0;c<3;c++)for(let y=0;y<80;y++)for(let x=0;x<80;x++) b[(c*80+y)*80+x]=(Math.sin(((c*64+Math.min(y,63))*64+Math.min(x,63))*0.37)+1)/2;
 const r3=await infer({width:80,height:80,channels:3,data:b});
 // compare interior of r1 (center 32x32 input -> 128 output) vs r3
 let md=0; for(let c=0;c<3;c++)for(let y=64;y<192;y++)for(let x=64;x<192;x++){const d=Math.abs(r1.data[(c*256+y)*256+x]-r3.data[(c*320+y)*320+x]); md=Math.max(md,d);} console.log('interior maxdiff (receptive field check)',md);
})();
